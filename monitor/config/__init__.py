"""The service configuration: one YAML file, validated once with pydantic, then passed down.

No other module reads the environment: :func:`load_config` takes the environment as an
argument, expands ``${VAR}`` references (used for channel secrets) and applies the
``MONITOR_DATABASE_URL`` override. Every problem becomes a one-line :class:`ConfigError`
naming the file, the line and the field.

:mod:`~monitor.config.settings` holds the settings (a pydantic model per section; the web
view's and the metrics listener's are :mod:`~monitor.config.serving`'s);
:mod:`~monitor.config.loading` reads the file into them; :mod:`~monitor.config.notes` finds
what is valid but rarely meant (``Config.notes``).
"""

from monitor.config.loading import StageChecks, load_config
from monitor.config.secrets import read_env_file
from monitor.config.serving import MetricsConfig, WebConfig, split_listen
from monitor.config.settings import (
    ChannelConfig,
    Config,
    DeliveryConfig,
    ExtractConfig,
    FeedConfig,
    HttpConfig,
    PollingConfig,
    RetentionConfig,
)
from monitor.config.values import QuietHours, parse_duration, parse_size

__all__ = [
    "ChannelConfig",
    "Config",
    "DeliveryConfig",
    "ExtractConfig",
    "FeedConfig",
    "HttpConfig",
    "MetricsConfig",
    "PollingConfig",
    "QuietHours",
    "RetentionConfig",
    "StageChecks",
    "WebConfig",
    "load_config",
    "parse_duration",
    "parse_size",
    "read_env_file",
    "split_listen",
]
