"""newsmonitor: a self-hosted news-monitoring and alerting service."""

__version__ = "0.1.0"

# Here rather than in config, so the command line's --help names it without loading pydantic.
DEFAULT_CONFIG_FILE = "monitor.yaml"
