"""The daemon: the service that runs every stage on a schedule.

Owns the wiring of the stages into one service (``build_service``), the ingest pipeline of a
cycle (due feeds -> fetch -> parse -> fetch pages -> extract -> match -> store -> outbox), the
active rule set and its reloads, and the APScheduler clock with its stop handling; and what
operators watch: Prometheus metrics, /healthz and /readyz, systemd notifications, heartbeats.

Must not import: cli. It is the only package that imports every stage.
"""

from __future__ import annotations

from monitor.daemon.health import Liveness, SystemdNotifier, readiness_report
from monitor.daemon.metrics import Metrics
from monitor.daemon.once import run_once
from monitor.daemon.ops import OpsAnswer, OpsEndpoints, OpsServer
from monitor.daemon.schedule import Daemon, install_stop_handlers
from monitor.daemon.service import Service, build_service

__all__ = [
    "Daemon",
    "Liveness",
    "Metrics",
    "OpsAnswer",
    "OpsEndpoints",
    "OpsServer",
    "Service",
    "SystemdNotifier",
    "build_service",
    "install_stop_handlers",
    "readiness_report",
    "run_once",
]
