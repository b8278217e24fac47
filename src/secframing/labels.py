"""The single source of the project's label sets (guideline v1, see ``../shared/codebook.md``).

Every saved model embeds the label sets it was trained with; :func:`check_labels` is called on load so a
model trained against another guideline version fails loudly instead of silently mislabelling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

GUIDELINE_VERSION = "v1.3"
"""The project codebook version (docs/codebook.md): v1 of ../shared/codebook.md plus clarifications."""

FRAMING_LABELS: tuple[str, ...] = ("promotional", "factual", "other")
"""Layer 1: every content sentence gets exactly one."""

CONTENT_LABELS: tuple[str, ...] = ("promotional", "factual")
"""The labels that count as content when computing an article's promotional share."""

DEVICES: tuple[str, ...] = (
    "superlative",
    "metaphor",
    "leader_credit",
    "external_validation",
    "national_pride",
    "rhetorical_question",
    "effectiveness_claim",
    "contrast",
)
"""Layer 2: framing devices, zero or more per promotional sentence."""

SENTIMENT_LABELS: tuple[str, ...] = ("positive", "neutral", "negative")
"""Layer 3: sentiment toward the security institutions."""

SENTIMENT_POLARITIES: tuple[str, ...] = ("positive", "negative")
"""The sentiment labels reported as shares (neutral is the remainder)."""

SUBJECTIVITY_LABELS: tuple[str, ...] = ("OBJ", "SUBJ")
"""ThatiAR (CheckThat! 2025 Arabic) sentence subjectivity, the dataset's own names."""

PERSUASION_LABELS: tuple[str, ...] = ("false", "true")
"""ArAIEval 2023 task 1A: does the text use at least one persuasion technique."""

NO_TECHNIQUE = "no_technique"
PERSUASION_COARSE_LABELS: tuple[str, ...] = ("Call", "Distraction", "Justification", "Manipulative_Wording",
                                             "Reputation", "Simplification", NO_TECHNIQUE)
"""ArMPro's coarse persuasion classes (the names of its fine-to-coarse mapping), multi-label; a text with
none of the six has the dataset's own ``no_technique``, which excludes the others."""

TASK_LABELS: dict[str, tuple[str, ...]] = {
    "framing": FRAMING_LABELS,
    "devices": DEVICES,
    "sentiment": SENTIMENT_LABELS,
    "subjectivity": SUBJECTIVITY_LABELS,
    "persuasion": PERSUASION_LABELS,
    "mac_sentiment": SENTIMENT_LABELS,
    "persuasion_coarse": PERSUASION_COARSE_LABELS,
}

MULTILABEL_TASKS: dict[str, str | None] = {"devices": None, "persuasion_coarse": NO_TECHNIQUE}
"""Tasks whose items carry a set of labels -> the label that stands for the empty set (None: the set may
stay empty)."""


class LabelSetError(ValueError):
    """A model or annotation file uses labels that differ from this module's."""


def label_schema() -> dict[str, object]:
    """The label sets as a JSON-serialisable record, embedded in every saved model."""
    return {"guideline": GUIDELINE_VERSION, **{k: list(v) for k, v in TASK_LABELS.items()}}


def check_labels(saved: Mapping[str, object], tasks: Sequence[str], source: str) -> None:
    """Raise :class:`LabelSetError` if ``saved`` label sets differ from the current ones for ``tasks``.

    >>> check_labels(label_schema(), ["framing"], "model.json")
    >>> check_labels({"framing": ["pro", "fact"]}, ["framing"], "m.json")
    Traceback (most recent call last):
    ...
    secframing.labels.LabelSetError: m.json: framing labels ['pro', 'fact'] differ from guideline v1.3 labels ['promotional', 'factual', 'other']
    """
    for task in tasks:
        want = list(TASK_LABELS[task])
        got = saved.get(task)
        if got != want:
            raise LabelSetError(
                f"{source}: {task} labels {got} differ from guideline {GUIDELINE_VERSION} labels {want}"
            )
