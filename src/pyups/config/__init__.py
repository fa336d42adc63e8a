"""pyups configuration: the TOML file's schema, loading it with every error reported at once,
and the views other parts take of it (the engine's policy, a UPS's TLS settings)."""

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
