"""pyups configuration: the TOML file's schema, loading it with every error reported at once,
and the views other parts take of it (the engine's policy, a UPS's TLS settings).

The names below are loaded on first use (PEP 562), so a command that only needs a light
module of this package (or none) does not load the schema and everything it validates.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyups.config.load import (
        ConfigError,
        config_from_text,
        default_config,
        load_config,
        read_password_file,
    )
    from pyups.config.schema import (
        DEFAULT_CONFIG_PATH,
        Config,
        EventSettings,
        MetricsConfig,
        MonitorConfig,
        ShutdownConfig,
        UpsConfig,
    )

_FROM_LOAD = {"ConfigError", "config_from_text", "default_config", "load_config"}
_FROM_LOAD |= {"read_password_file"}

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "Config",
    "ConfigError",
    "EventSettings",
    "MetricsConfig",
    "MonitorConfig",
    "ShutdownConfig",
    "UpsConfig",
    "config_from_text",
    "default_config",
    "load_config",
    "read_password_file",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(
        "pyups.config.load" if name in _FROM_LOAD else "pyups.config.schema"
    )
    return getattr(module, name)
