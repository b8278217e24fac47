"""Arabic text processing: normalisation (pure functions) and sentence segmentation with offsets."""

from secframing.text.normalize import NormalizeOptions, normalize
from secframing.text.segment import Segment, segment

__all__ = ["NormalizeOptions", "Segment", "normalize", "segment"]
