"""The transparent baseline: weighted cue lexicons label sentences and name the devices and cues.

Decision, in order (each step is recorded in the prediction's evidence):
1. ``other``: page furniture, text with no Arabic words, fewer than ``min_words`` words and no cue, or
   the shape of a byline, dateline or caption (``data/lexicons/other_patterns.toml``) without a positive cue;
2. ``promotional``: the summed weight of the framing cues that fire (overlaps keep the strongest) plus
   ``target_bonus`` when the sentence also names a security institution reaches ``threshold``;
3. ``other``: a question that is not promotional (codebook: questions with no evaluative load);
4. ``factual`` otherwise.
Devices are those of the positive cues that fired in a promotional sentence (plus ``rhetorical_question``
for a promotional question). Probabilities are a logistic squashing of the score margin; they rank
sentences sensibly but are not calibrated.
"""

from __future__ import annotations

import math
import re
import shutil
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from secframing.config import FilePath
from secframing.labels import DEVICES
from secframing.lexicon import Hit, Lexicon, load_lexicon, strongest_hits
from secframing.models.base import ModelLoadError, Prediction, SentenceModel
from secframing.models.io import sha256_file
from secframing.paths import LEXICON_DIR
from secframing.text.match import match_view
from secframing.text.segment import furniture_phrases

_FILES = ("cues", "institutions", "furniture", "other_patterns")
ARABIC_WORD = re.compile(r"[\u0621-\u064A\u0671-\u06D3]{2,}")


@dataclass(frozen=True)
class LexiconConfig:
    """Settings of the lexicon baseline (saved in ``model.json``)."""

    cues: FilePath = str(LEXICON_DIR / "framing_cues.toml")
    institutions: FilePath = str(LEXICON_DIR / "institutions.toml")
    furniture: FilePath = str(LEXICON_DIR / "furniture.txt")
    other_patterns: FilePath = str(LEXICON_DIR / "other_patterns.toml")
    threshold: float = 2.0
    """Summed cue weight from which a sentence is promotional."""
    target_bonus: float = 0.5
    """Added when a positive cue fires in a sentence that also names a security institution."""
    min_words: int = 3
    """Shorter sentences without any cue are ``other`` (bylines, captions, fragments)."""
    slope: float = 1.5
    """Steepness of the logistic mapping from score margin to probability."""
    other_prob: float = 0.04
    """Probability mass left on ``other`` for content sentences."""

    def __post_init__(self) -> None:
        if self.threshold <= 0 or self.slope <= 0 or not 0 < self.other_prob < 0.5:
            raise ValueError("threshold and slope must be > 0 and other_prob in (0, 0.5)")


class LexiconModel(SentenceModel):
    """Rule model over the cue lexicons; predicts framing and devices with the cues that fired."""

    backend = "lexicon"
    tasks = ("framing", "devices")  # type: ignore[assignment]  # the cues that fired name the devices

    def __init__(self, config: LexiconConfig | None = None):
        self.config = config or LexiconConfig()
        self.cues: Lexicon = load_lexicon(self.config.cues)
        self.institutions: Lexicon = load_lexicon(self.config.institutions)
        self._targets = tuple(c for c in self.institutions.cues if c.get("kind") == "institution")
        phrases = [p for p in furniture_phrases(self.config.furniture)]
        phrases_re = "|".join(re.escape(" ".join(match_view(p)[0].split())) for p in phrases)
        extra = [f["pattern"] for f in self.cues.sections.get("furniture", [])]
        self._furniture = [re.compile(rf"^(?:{phrases_re})$")] + [re.compile(match_view(p)[0]) for p in extra]
        with open(self.config.other_patterns, "rb") as fh:
            shapes = tomllib.load(fh).get("pattern", [])
        self._shapes = [(p["id"], re.compile(match_view(p["regex"])[0]), p.get("max_words")) for p in shapes]
        bad = sorted({c.get("device") for c in self.cues.cues} - set(DEVICES) - {"none", None})
        if bad:
            raise ValueError(f"{self.config.cues}: unknown device(s) {bad}; valid: {list(DEVICES)}")

    # -- prediction -------------------------------------------------------------------------------
    def _probs(self, label_rule: str | None, margin: float) -> dict[str, float]:
        c = self.config
        if label_rule == "other":
            return {"promotional": 0.03, "factual": 0.07, "other": 0.90}
        p = 1 / (1 + math.exp(-c.slope * margin))
        if label_rule == "question":
            # a non-promotional question is `other`; keep the promotional part of the margin visible
            q = min(p, 0.45)
            return {"promotional": round(q, 4), "factual": round((1 - q) * 0.3, 4), "other": round((1 - q) * 0.7, 4)}
        rest = 1 - c.other_prob
        return {"promotional": round(rest * p, 4), "factual": round(rest * (1 - p), 4), "other": c.other_prob}

    def predict_one(self, text: str) -> Prediction:
        c = self.config
        view = match_view(text)
        norm = view[0].strip()
        words = ARABIC_WORD.findall(norm)
        if any(f.search(norm) for f in self._furniture):
            return Prediction("other", self._probs("other", 0), (), ({"rule": "furniture"},))
        if not words:
            return Prediction("other", self._probs("other", 0), (), ({"rule": "no Arabic words"},))
        hits: list[Hit] = strongest_hits(self.cues.find(text, view))
        score = sum(h.cue.weight for h in hits)
        positive = [h for h in hits if h.cue.weight > 0]
        target = any(cue.regex.search(view[0]) for cue in self._targets)  # type: ignore[union-attr]
        if positive and target:
            score += c.target_bonus
        evidence = tuple({"rule": "cue", **h.to_dict()} for h in hits) + (
            ({"rule": "target_bonus", "weight": c.target_bonus},) if positive and target else ())
        if len(words) < c.min_words and not hits:
            return Prediction("other", self._probs("other", 0), (), ({"rule": f"fewer than {c.min_words} words"},))
        margin = score - c.threshold
        if not positive:
            for sid, shape, max_words in self._shapes:
                if shape.search(norm) and (max_words is None or len(norm.split()) <= max_words):
                    return Prediction("other", self._probs("other", 0), (), evidence + ({"rule": sid},))
        question = norm.rstrip("»\"”' ").endswith(("؟", "?"))
        if margin >= 0:
            devices = {h.cue.get("device") for h in positive} - {"none", None}
            if question:
                devices.add("rhetorical_question")
            probs = self._probs(None, margin)
            if probs["promotional"] < max(probs["factual"], probs["other"]):  # margin 0 ties go to promotional
                probs = self._probs(None, 1e-3)
            return Prediction("promotional", probs, tuple(d for d in DEVICES if d in devices), evidence)
        if question:
            return Prediction("other", self._probs("question", margin), (), evidence + ({"rule": "question"},))
        return Prediction("factual", self._probs(None, margin), (), evidence)

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        return [self.predict_one(t) for t in texts]

    # -- persistence ------------------------------------------------------------------------------
    def save_files(self, directory: Path) -> tuple[dict[str, str], dict[str, Any]]:
        """Copy the lexicon files into ``directory``; the saved config points at the copies."""
        files = {}
        local = {}
        for key in _FILES:
            src = Path(getattr(self.config, key))
            dst = directory / src.name
            if src.resolve() != dst.resolve():
                shutil.copyfile(src, dst)
            files[dst.name] = sha256_file(dst)
            local[key] = dst.name
        return files, {"config": {**asdict(self.config), **local},
                       "lexicons": {"cues": self.cues.meta, "institutions": self.institutions.meta}}

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> LexiconModel:
        cfg = dict(meta["config"])
        for key in _FILES:
            cfg[key] = str(directory / cfg[key])
        try:
            config = LexiconConfig(**cfg)
        except TypeError as exc:
            raise ModelLoadError(f"{directory}/model.json: config does not fit this version: {exc}") from None
        return cls(config)
