"""newsmonitor: a self-hosted news-monitoring and alerting service."""

__version__ = "0.1.0"
