"""The delivery stage: from a stored hit to a message a person reads.

Owns the channels of the configuration, the delivery policy (immediate or digest, quiet hours,
per-rule rate caps), rendering (sandboxed Jinja2, per-target escaping and length caps),
sending through apprise with secrets masked, and the dispatcher that drains the outbox under
database leases.

Must not import: feeds, extract, rules, stories, daemon or cli. Uses the store, and the net
stage's address policy for webhook destinations.
"""

from __future__ import annotations

from monitor.delivery.channels import ChannelDirectory
from monitor.delivery.dispatch import Dispatcher
from monitor.delivery.notify import (
    ConsoleNotifier,
    SecretMasker,
    destination_problem,
    mask_url,
    send,
    target_kind,
)
from monitor.delivery.policy import DeliveryPolicies, DigestSchedule, schedule_problem
from monitor.delivery.render import (
    default_format,
    distinct_snippets,
    render_alert,
    template_problem,
)

__all__ = [
    "ChannelDirectory",
    "ConsoleNotifier",
    "DeliveryPolicies",
    "DigestSchedule",
    "Dispatcher",
    "SecretMasker",
    "default_format",
    "destination_problem",
    "distinct_snippets",
    "mask_url",
    "render_alert",
    "schedule_problem",
    "send",
    "target_kind",
    "template_problem",
]
