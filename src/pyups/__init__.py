"""pyups: a UPS monitoring daemon for NUT's upsd."""

__version__ = "0.1.0"
