"""Everything that talks to upsd. The only package that imports PyNUTClient.

:mod:`~pyups.nut.session` is the session (:class:`Connection`), :mod:`~pyups.nut.reader`
reads replies, :mod:`~pyups.nut.tls` holds the STARTTLS settings, :mod:`~pyups.nut.pynut`
is the one place that touches PyNUTClient's private names, :mod:`~pyups.nut.protocol`
parses, and :mod:`~pyups.nut.poll` turns one ``LIST VAR`` into a snapshot.
"""

from pyups.nut.errors import NutError
from pyups.nut.poll import poll
from pyups.nut.session import Attach, Connection
from pyups.nut.tls import Tls

__all__ = ["Attach", "Connection", "NutError", "Tls", "poll"]
