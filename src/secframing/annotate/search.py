"""Round 2 of the gold sampling: more random coverage, and the search for rare promotional sentences.

Round 1 (``sampling.py``) showed promotional sentences are rare (about 1% of sentences in random
security coverage), and that annotators found them in wording the lexicon did not list (speed and
quality claims in communiqués, thanks to "the security services" in statements). Round 2 adds:

- ``random``: more articles from the same random stratum (its weight is recomputed over all drawn);
- ``search_model``: active learning for the rare class — a TF-IDF model trained on the round-1 gold
  scores every unannotated sentence of articles that name the target; the highest promotional
  probabilities are taken, made diverse by a k-centre pass (certainty sampling);
- ``search_phrase``: a random sample of unannotated sentences matching the praise phrases annotators
  reported in round 1.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from secframing.annotate.active import rank_next
from secframing.io.schema import Article
from secframing.lexicon import CueScorer
from secframing.models.base import Prediction, SentenceModel
from secframing.select.relevance import RelevanceScorer
from secframing.text.match import match_view
from secframing.text.segment import segment_article as article_units

ROUND1_PHRASES = (
    r"في (?:وقت|ظرف|زمن) (?:قياسي|وجيز)", r"بسرعة وجدية", r"بجدية (?:كبيرة|تامة)", r"كمين محكم", r"خط[ةه] محكم",
    r"عملي[ةه] نوعي", r"نجاع[ةه]", r"احترافي[ةه]", r"مهني[ةه] عالي", r"يقظ[ةه]", r"المجهودات (?:الجبارة|الكبيرة|المبذولة)",
    r"(?:شكر|يشكر|تشكر|نشكر|تقدم بالشكر)", r"(?:أشاد|نوه|ثمن|حيا|يحيي|تحية)", r"تضحيات", r"السهر على", r"الساهرين",
    r"صيد ثمين", r"ضربة (?:موجعة|قوية)", r"بتفان", r"نكران الذات", r"الدور (?:الحاسم|المحوري|الكبير|الريادي)",
)


@dataclass(frozen=True)
class Round2Config:
    seed: int = 20261123
    n_extra_random: int = 150
    n_model: int = 320
    model_pool_factor: int = 3
    n_phrase: int = 200


class _PromoFirst(SentenceModel):
    """Wraps a model so that ``rank_next`` ranks by promotional probability rather than entropy."""

    backend = "promo-first"

    def __init__(self, inner: SentenceModel):
        self.inner = inner

    def predict_many(self, texts):  # type: ignore[override]
        out = []
        for p in self.inner.predict_many(texts):
            q = p.probs.get("promotional", 0.0)
            out.append(Prediction(p.label, {"promotional": q, "rest": 1 - q} if q < 0.5 else {"promotional": 1 - q, "rest": q}))
        return out

    def save(self, directory):  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def load(cls, directory, meta):  # pragma: no cover
        raise NotImplementedError


def build_round2(corpus: list[Article], design: dict[str, Any], annotated: set[tuple[str, str, int, int]],
                 model: SentenceModel, config: Round2Config | None = None,
                 scorer: RelevanceScorer | None = None) -> dict[str, Any]:
    """Draw round 2; returns the record to add to ``design.json`` and the new units (with text)."""
    cfg = config or Round2Config()
    rng = random.Random(cfg.seed)
    scorer = scorer or RelevanceScorer()
    rel = {a.id: scorer.score(a) for a in corpus}
    by_id = {a.id: a for a in corpus}
    st = design["strata"]
    taken_articles = set(st["random"]["articles"]) | set(st["likely_promotional"]["articles"])
    long_ = set(design.get("excluded_long_articles", []))
    eligible = sorted(i for i, r in rel.items() if r.relevant and i not in long_ and i not in taken_articles)
    extra = sorted(rng.sample(eligible, min(cfg.n_extra_random, len(eligible))))
    units = [{**u, "stratum": "random"} for i in extra for u in article_units(by_id[i])]
    used = annotated | {(u["article_id"], u["field"], u["start"], u["end"]) for u in units}

    pool = [u for a in corpus if rel[a.id].institution_score >= 1 and a.id not in extra
            for u in article_units(a) if (u["article_id"], u["field"], u["start"], u["end"]) not in used]
    # score by promotional probability, then keep a diverse subset of the top of the ranking
    probs = model.predict_many([u["text"] for u in pool])
    order = sorted(range(len(pool)), key=lambda i: -probs[i].probs.get("promotional", 0.0))
    top = [pool[i] for i in order[: cfg.n_model * cfg.model_pool_factor]]
    picked = rank_next(top, _PromoFirst(model), cfg.n_model, pool_factor=1)
    for p in picked:
        units.append({k: p[k] for k in ("article_id", "field", "start", "end", "text")} | {"stratum": "search_model"})
        used.add((p["article_id"], p["field"], p["start"], p["end"]))

    phrase_re = [re.compile(match_view(p)[0]) for p in ROUND1_PHRASES]
    phrase_pool = [u for u in pool if (u["article_id"], u["field"], u["start"], u["end"]) not in used
                   and any(r.search(match_view(u["text"])[0]) for r in phrase_re)]
    phrase_pick = rng.sample(phrase_pool, min(cfg.n_phrase, len(phrase_pool)))
    units.extend({**u, "stratum": "search_phrase"} for u in phrase_pick)

    n_random_total = len(st["random"]["articles"]) + len(extra)
    record = {
        "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        "extra_random_articles": extra,
        "random_weight_after_round2": st["random"]["pool"] / n_random_total,
        "search_model": {"pool_sentences": len(pool), "ranked_top": len(top), "n": len(picked),
                         "weight": 1.0, "definition": "highest promotional probability of a TF-IDF model trained on round-1 gold, k-centre diversified"},
        "search_phrase": {"pool_sentences": len(phrase_pool), "n": len(phrase_pick),
                          "weight": len(phrase_pool) / max(1, len(phrase_pick)), "phrases": list(ROUND1_PHRASES)},
        "sentences_read": len(units),
    }
    return {"record": record, "units": units}


# --- round 5 (gold v2): promotional framing beyond the communiqué formulae ----------------------------------

VOICE_CATEGORIES: dict[str, str] = {
    # party and parliamentary statements
    "party_parliament": r"حزب|الفريق (?:النيابي|الاستقلالي|الاشتراكي|الحركي|الدستوري)|مجلس النواب|مجلس المستشارين|البرلمان|برلماني|النائب",
    # foreign officials, institutions and media
    "foreign_officials": r"سفير|السفارة|الإسباني|الاسباني|الفرنسي|الأمريكي|الامريكي|البلجيكي|الألماني|الإماراتي|الأوروبي|الإنتربول|الانتربول|الأنتربول|يوروبول|الأمم المتحدة",
    # citizens' thanks, social media, civil society
    "citizens_thanks": r"شكر|امتنان|ممتن|المواطنين|الساكنة|رواد|مواقع التواصل|فيسبوك|الفايسبوك|جمعية|فعاليات",
    # opinion, analysis, commentary
    "opinion": r"في رأي|يرى|اعتبر|أكد الخبير|المحلل|الباحث|الخبير|الأستاذ|رأي",
}
"""Round 5's searches by the codebook's ``voice`` categories (third-party praise), on the match view."""


SECURITY_WORDS = r"أمن|الأمني|الشرطة|البوليس|الدرك|الحموشي|المخابرات|الاستخبارات|الديستي|مراقبة التراب|القوات المساعدة|رجال السلطة"
"""Security vocabulary that admits a sentence to round 5's pool even without institution-lexicon evidence."""


@dataclass(frozen=True)
class Round5Config:
    seed: int = 20261202
    min_institution: float = 1.0
    """Institution evidence (the relevance lexicon) of the sentence, or of its article, that admits a
    sentence to the pool (as does :data:`SECURITY_WORDS` in the sentence)."""
    min_words: int = 4
    n_top: int = 1000
    """The highest ``rank_score`` units, all read (``search_v2_ranked``: not a probability sample, weight 0)."""
    n_tail: int = 300
    """A simple random sample of the rest of the pool (``search_v2_tail``, weighted by pool / n), so what
    the ranking missed is estimated too."""


def build_round5(corpus: list[Article], annotated: set[tuple[str, str, int, int]],
                 models: dict[str, SentenceModel], config: Round5Config | None = None,
                 scorer: RelevanceScorer | None = None) -> dict[str, Any]:
    """Round 5 (gold v2): the rest of the corpus's security text, read in full.

    After round 4's census of the articles the relevance rule selects, the undrawn sentences that could
    still hold promotional framing are those with institution evidence (in the sentence or its article)
    or security vocabulary. Each model in ``models`` scores every unit (``p_<name>``) and ``rank_score``
    is the mean of their percentile ranks, so no one model's style decides. Taken: the top ``n_top`` of
    that ranking and a random sample of ``n_tail`` of the rest (weighted, so the promotional sentences the
    corpus still holds are estimated, not only searched for). Units are
    tagged with the codebook's voice categories they match (:data:`VOICE_CATEGORIES`) and Febrayer, so
    the annotation shows which search would have found what. Returns the design record and the units
    (with text and scores).
    """
    import numpy as np

    cfg = config or Round5Config()
    scorer = scorer or RelevanceScorer()
    inst_cues = CueScorer(scorer.lexicon, 1.0, 3, strongest=True)
    security = re.compile(match_view(SECURITY_WORDS)[0])
    categories = {cat: re.compile(match_view(p)[0]) for cat, p in VOICE_CATEGORIES.items()}
    pool: list[dict[str, Any]] = []
    for a in corpus:
        article_inst = scorer.score(a).institution_score
        for u in article_units(a):
            if (u["article_id"], u["field"], u["start"], u["end"]) in annotated or len(u["text"].split()) < cfg.min_words:
                continue
            view = match_view(u["text"])[0]
            sent_inst = sum(h.weight for h in inst_cues.hits((("text", u["text"]),))
                            if h.counted and h.hit.cue.get("kind") == "institution")
            if max(sent_inst, article_inst) >= cfg.min_institution or security.search(view):
                tags = [c for c, rx in categories.items() if rx.search(view)]
                if (a.outlet or "").lower() == "febrayer":
                    tags.append("febrayer")
                pool.append({**u, "outlet": a.outlet, "categories": tags})
    texts = [u["text"] for u in pool]
    ranks = []
    for name, model in models.items():
        probs = np.array([p.probs.get("promotional", 0.0) for p in model.predict_many(texts)])
        for u, q in zip(pool, probs):
            u[f"p_{name}"] = round(float(q), 4)
        ranks.append(probs.argsort().argsort() / max(1, len(probs) - 1))
    for u, c in zip(pool, np.mean(ranks, axis=0) if ranks else np.zeros(len(pool))):
        u["rank_score"] = round(float(c), 4)
    order = sorted(range(len(pool)), key=lambda i: (-pool[i]["rank_score"], i))
    top, rest = order[:cfg.n_top], order[cfg.n_top:]
    tail = sorted(random.Random(cfg.seed).sample(rest, min(cfg.n_tail, len(rest))))
    for i in top:
        pool[i]["stratum"] = "search_v2_ranked"
    for i in tail:
        pool[i]["stratum"] = "search_v2_tail"
    taken = [pool[i] for i in top + tail]
    record = {"unit": "sentence", "pool": len(pool), "n": len(taken),
              "strata": {"search_v2_ranked": {"n": len(top), "weight": 0.0},
                         "search_v2_tail": {"pool": len(rest), "n": len(tail),
                                            "weight": round(len(rest) / max(1, len(tail)), 4)}},
              "definition": "round 5 (gold v2, guideline v1.3): every undrawn corpus sentence with institution "
                            "evidence (sentence or article) or security vocabulary, ranked by the mean percentile "
                            "rank of the promotional probabilities of " + ", ".join(models) + "; the top of the "
                            "ranking and a random sample of the rest; tagged with the voice categories",
              "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
              "voice_categories": VOICE_CATEGORIES, "security_words": SECURITY_WORDS, "models": list(models),
              "articles": len({u["article_id"] for u in taken})}
    return {"record": record, "units": taken}
