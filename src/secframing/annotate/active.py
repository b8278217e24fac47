"""Active learning: the next sentences to annotate, by model uncertainty and diversity.

Uncertainty is the entropy of the model's framing probabilities, with the promotional probability as a
tie-breaker (promotional sentences are the rare class worth finding). Among the ``pool_factor × n`` most
uncertain sentences, a greedy k-centre pass on character n-gram TF-IDF vectors picks ``n`` that are far
from each other and from what is already annotated, so a batch is not 200 variants of one phrase.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from secframing.models.base import SentenceModel
from secframing.text.normalize import normalize


def entropy(probs: dict[str, float]) -> float:
    """Shannon entropy in nats.

    >>> round(entropy({"a": 0.5, "b": 0.5}), 4)
    0.6931
    """
    return -sum(p * math.log(p) for p in probs.values() if p > 0)


def rank_next(candidates: Sequence[dict[str, Any]], model: SentenceModel, n: int, annotated_texts: Sequence[str] = (),
              pool_factor: int = 5, seed: int = 0) -> list[dict[str, Any]]:
    """Pick ``n`` candidates (dicts with ``text``) to annotate next; each gets ``rank``,
    ``uncertainty``, ``p_promotional`` and the model's ``label``."""
    if n <= 0 or not candidates:
        return []
    preds = model.predict_many([c["text"] for c in candidates])
    scored = [(entropy(p.probs), p.probs.get("promotional", 0.0), i, p) for i, p in enumerate(preds)]
    scored.sort(key=lambda t: (-t[0], -t[1], t[2]))
    pool = scored[: max(n, pool_factor * n)]
    texts = [normalize(candidates[i]["text"]) for _, _, i, _ in pool]
    known = [normalize(t) for t in annotated_texts]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=1, sublinear_tf=True)
    mat = vec.fit_transform(texts + known)
    cand, seen = mat[: len(texts)], mat[len(texts):]
    # distance to the nearest already-chosen or already-annotated sentence (cosine on l2-normalised rows)
    nearest = np.ones(len(texts))
    if seen.shape[0]:
        nearest = 1 - np.asarray((cand @ seen.T).max(axis=1).todense()).ravel()
    chosen: list[int] = []
    unc = np.array([u for u, _, _, _ in pool])
    unc = unc / unc.max() if unc.max() > 0 else np.ones_like(unc)
    for _ in range(min(n, len(texts))):
        score = nearest * (0.5 + 0.5 * unc)
        if chosen:
            score[chosen] = -1
        j = int(np.argmax(score))
        chosen.append(j)
        sim = np.asarray((cand @ cand[j].T).todense()).ravel()
        nearest = np.minimum(nearest, 1 - sim)
    out = []
    for rank, j in enumerate(chosen, 1):
        u, pp, i, p = pool[j]
        out.append({**candidates[i], "rank": rank, "uncertainty": round(u, 4), "p_promotional": round(pp, 4),
                    "label": p.label})
    return out
