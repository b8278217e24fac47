"""The recorded sampling design of the gold annotation (``secframing annotate sample``).

Three strata over the shared corpus plus the seed articles, each with its pool, sample and weight so
that prevalence estimates can be reweighted:

- ``random``: a simple random sample of the articles the relevance rule selects (unbiased for the
  security coverage as selected); every sentence of each article is annotated.
- ``likely_promotional``: articles that name the target and carry promotional cues or topics that
  attract praise (anniversaries, awards, cooperation, parliament and party statements, praise verbs);
  every sentence annotated.
- ``candidates``: single sentences from the rest of the corpus where a promotional cue fires and the
  target is in the sentence or the article (the cue search for rare promotional sentences).
- ``seed``: every sentence of the three seed articles (not part of the corpus population: weight 0).

Weights are inverse inclusion probabilities within each stratum (pool size / sample size).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from secframing.io.schema import Article
from secframing.models.lexicon import LexiconModel
from secframing.select.relevance import RelevanceScorer
from secframing.text.match import match_view
from secframing.text.segment import segment_article as article_units

TOPIC_PATTERNS = (
    r"ذكر[اى]\S* (?:ال)?تأسيس", r"عيد (?:ال)?أمن", r"تكريم", r"توشيح", r"وسام", r"تعاون\S* (?:ال)?أمني",
    r"(?:أشاد|يشيد|تشيد|إشادة|نوه|ينوه|تنويه|ثمن|يثمن)", r"البرلمان|مجلس النواب|مجلس المستشارين|سؤال (?:كتابي|شفوي)",
    r"(?:حزب|الفريق النيابي|فريق .{0,20}بمجلس)", r"نموذج|ريادة|رائد",
)


@dataclass(frozen=True)
class SamplingConfig:
    seed: int = 20261122
    n_random: int = 480
    n_promotional_articles: int = 150
    n_candidates: int = 600
    promotional_article_score: float = 0.5
    """Summed positive cue weight over an article's sentences from which it enters the likely-promotional
    pool (any praise-prone topic also qualifies)."""
    candidate_score: float = 0.5
    """Positive cue weight of a sentence from which it is a candidate."""
    max_article_sentences: int = 40
    """Longer articles are left out of the article strata (recorded) to keep the annotation load even."""


def _positive_score(model: LexiconModel, text: str) -> float:
    pred = model.predict_one(text)
    return sum(e.get("weight", 0) for e in pred.evidence if e.get("rule") == "cue" and e.get("weight", 0) > 0)


def build_design(corpus: list[Article], seeds: list[Article], config: SamplingConfig | None = None,
                 model: LexiconModel | None = None, scorer: RelevanceScorer | None = None) -> dict[str, Any]:
    """Draw the strata; returns the design record and the annotation units (with text, for the
    annotation tool only: the saved design keeps ids and offsets)."""
    cfg = config or SamplingConfig()
    model = model or LexiconModel()
    scorer = scorer or RelevanceScorer()
    rng = random.Random(cfg.seed)
    topic_re = [re.compile(match_view(p)[0]) for p in TOPIC_PATTERNS]
    rel = {a.id: scorer.score(a) for a in corpus}
    units_by_article = {a.id: article_units(a) for a in corpus}
    too_long = sorted(i for i, u in units_by_article.items() if len(u) > cfg.max_article_sentences)

    selected = sorted(a.id for a in corpus if rel[a.id].relevant and a.id not in too_long)
    random_ids = sorted(rng.sample(selected, min(cfg.n_random, len(selected))))
    taken = set(random_ids)

    pool_promo = []
    for a in corpus:
        if a.id in taken or a.id in too_long or rel[a.id].institution_score < 2:
            continue
        score = sum(_positive_score(model, u["text"]) for u in units_by_article[a.id])
        view = match_view((a.title or "") + " " + a.text)[0]
        topical = sum(bool(r.search(view)) for r in topic_re)
        if score >= cfg.promotional_article_score or topical >= 1:
            pool_promo.append(a.id)
    pool_promo.sort()
    promo_ids = sorted(rng.sample(pool_promo, min(cfg.n_promotional_articles, len(pool_promo))))
    taken |= set(promo_ids)

    pool_cand = []
    for a in corpus:
        if a.id in taken:
            continue
        article_target = rel[a.id].institution_score >= 1
        for u in units_by_article[a.id]:
            if _positive_score(model, u["text"]) >= cfg.candidate_score:
                sentence_target = any(e["field"] == u["field"] and u["start"] <= e["start"] < u["end"]
                                      and e.get("kind") == "institution" for e in rel[a.id].evidence)
                if article_target or sentence_target:
                    pool_cand.append(u)
    pool_cand.sort(key=lambda u: (u["article_id"], u["field"], u["start"]))
    cand = rng.sample(pool_cand, min(cfg.n_candidates, len(pool_cand)))
    cand.sort(key=lambda u: (u["article_id"], u["field"], u["start"]))

    def weight(pool: int, n: int) -> float:
        return pool / n if n else 0.0

    strata = {
        "random": {"unit": "article", "pool": len(selected), "n": len(random_ids),
                   "weight": weight(len(selected), len(random_ids)), "articles": random_ids,
                   "definition": "simple random sample of articles selected by the relevance rule"},
        "likely_promotional": {"unit": "article", "pool": len(pool_promo), "n": len(promo_ids),
                               "weight": weight(len(pool_promo), len(promo_ids)), "articles": promo_ids,
                               "definition": f"institution evidence >= 2 and (article cue score >= {cfg.promotional_article_score} or a praise-prone topic: {', '.join(TOPIC_PATTERNS)})"},
        "candidates": {"unit": "sentence", "pool": len(pool_cand), "n": len(cand),
                       "weight": weight(len(pool_cand), len(cand)),
                       "sentences": [{k: u[k] for k in ("article_id", "field", "start", "end")} for u in cand],
                       "definition": f"sentences with promotional cue score >= {cfg.candidate_score} whose article or sentence names the target, outside the article strata"},
        "seed": {"unit": "article", "pool": len(seeds), "n": len(seeds), "weight": 0.0,
                 "articles": [s.id for s in seeds], "definition": "the three seed articles; outside the corpus population"},
    }
    units = []
    for name in ("random", "likely_promotional"):
        for aid in strata[name]["articles"]:
            units.extend({**u, "stratum": name} for u in units_by_article[aid])
    units.extend({**u, "stratum": "candidates"} for u in cand)
    for s in seeds:
        units.extend({**u, "stratum": "seed"} for u in article_units(s))
    design = {"lexicons": {"framing_cues": model.cues.sha256, "institutions": scorer.lexicon.sha256},
              "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
              "strata": strata, "excluded_long_articles": too_long, "n_units": len(units)}
    return {"design": design, "units": units}
