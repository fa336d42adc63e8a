"""Everything that talks to upsd. The only package that imports PyNUTClient."""

from pyups.nut.client import Connection
from pyups.nut.errors import NutError
from pyups.nut.poll import poll

__all__ = ["Connection", "NutError", "poll"]
