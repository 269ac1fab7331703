"""edge: the campus edge monitor daemon."""

__version__ = "0.1.0"
