"""secframing: how Moroccan Arabic news media frame their coverage of the security services."""

__version__ = "0.1.0"
