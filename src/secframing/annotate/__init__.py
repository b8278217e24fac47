"""Stand-off annotations: records that point at shared text by article id and offsets."""

from secframing.annotate.standoff import Annotation, HashMismatch, hydrate, load_annotations

__all__ = ["Annotation", "HashMismatch", "hydrate", "load_annotations"]
