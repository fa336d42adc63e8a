"""Importing a library without the parts of the standard library it loads but pyups never uses.

Two of pyups' libraries map OpenSSL into the process as they are imported, about 4 MiB of
RSS a long-running monitor would carry for nothing:

* PyNUTClient imports ``ssl`` for STARTTLS. Most sites talk to upsd in clear text on the same
  host or LAN; :mod:`pyups.nut.pynut` hands it ``ssl`` when a session does use TLS.
* lark imports ``hashlib`` to name its grammar cache files, which pyups does not use, and
  ``hashlib`` loads OpenSSL's ``_hashlib`` when it can. Without it ``hashlib`` serves the same
  digests from CPython's own implementations.

Both libraries handle the module being absent (PyNUTClient notes that TLS is unavailable,
``hashlib`` falls back to its built-in digests): :func:`import_without` makes them take that
path. The modules are hidden only while the library is imported; anything imported later
finds them as usual.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def import_without(name: str, *hidden: str) -> ModuleType:
    """Import module ``name`` with the modules ``hidden`` unavailable to it (unless already
    loaded, in which case it simply gets them)."""
    absent = [module for module in hidden if module not in sys.modules]
    for module in absent:
        sys.modules[module] = None  # type: ignore[assignment]  # `import module` fails
    try:
        return importlib.import_module(name)
    finally:
        for module in absent:
            del sys.modules[module]
