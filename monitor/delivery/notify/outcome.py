"""What one delivery attempt came to, read from apprise's result object (G8-G10).

apprise 2.2 returns an ``AppriseResult``: truthy only on SUCCESS, with a status (FAILURE,
PARTIAL, TIMEOUT, NOMATCH), one ``NotifyResult`` per service and the log lines captured during
each attempt. It is tested with ``bool()`` and its statuses, never ``is False`` (a result
object is never ``False``). The HTTP status a service answered is not a field, but apprise's
plugins log it (``...error=401.``); it is read from the attempt's log lines so that a 401 goes
dead at once (G9) while a 500 is retried (G8).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apprise import AppriseResultStatus

# Only 3xx-5xx: a plugin that rejects a 200 answer's body logs "error=200", which is no status
# worth classifying on.
_HTTP_STATUS = re.compile(r"\b(?:error|code|status(?:_code)?|http)\s*[=:]\s*([3-5]\d\d)\b",
                          re.IGNORECASE)
_SMTP_REFUSED = re.compile(r"\bwas refused:\s*([245]\d\d)\b")
_RETRYABLE_4XX = frozenset({408, 425, 429})
_MAX_LOG = 4000


@dataclass(frozen=True)
class DeliveryOutcome:
    """One attempt to send one message to one destination.

    ``permanent`` failures must not be retried (4xx other than 408/429, an unusable URL, a
    refused address); the others are transient (5xx, timeouts, connection refused).
    ``unknown``: the request was written but no answer came (a read timeout, a dropped
    connection): the destination may have it. ``keyed``: the request carried the
    ``Idempotency-Key`` header, so the receiver can drop a repeat of it.
    ``error`` and ``log`` never contain the destination's secrets. ``status`` is the HTTP
    status (or SMTP reply code) apprise saw, when it said.
    """

    ok: bool
    permanent: bool = False
    error: str | None = None
    status: int | None = None
    code: str | None = None  # machine-readable: http_401, timeout, blocked_address...
    log: str = ""  # apprise's log lines for this attempt, masked
    unknown: bool = False
    keyed: bool = False

    @property
    def retryable(self) -> bool:
        """A failure that another attempt may fix."""
        return not self.ok and not self.permanent


def http_is_permanent(status: int) -> bool:
    """4xx other than 408 (timeout), 425 (too early) and 429 (rate limited) cannot be fixed
    by trying again; 5xx and the rest can."""
    return 400 <= status < 500 and status not in _RETRYABLE_4XX


def _entries(result: Any) -> list[tuple[str, str]]:
    try:
        return [(str(e.level), str(e.message)) for e in result.logs()]
    except (AttributeError, TypeError, OSError):
        return []


def classify_result(
    result: Any, *, mask: Callable[[str], str], label: str = "delivery"
) -> DeliveryOutcome:
    """Turn an ``AppriseResult`` into a :class:`DeliveryOutcome` (all text passed through
    ``mask``). ``label`` names the destination kind in the error text."""
    lines = [(level, mask(message)) for level, message in _entries(result)]
    log_text = "\n".join(f"{level}: {message}" for level, message in lines)[-_MAX_LOG:]
    if bool(result):
        return DeliveryOutcome(ok=True, log=log_text)

    status = result.status
    problems = [message for level, message in lines if level in ("WARNING", "ERROR", "CRITICAL")]
    detail = problems[-1] if problems else None

    def outcome(*, permanent: bool, code: str, summary: str,
                http: int | None = None) -> DeliveryOutcome:
        error = f"{label} {summary}" + (f": {detail}" if detail else "")
        return DeliveryOutcome(ok=False, permanent=permanent, error=error, status=http,
                               code=code, log=log_text)

    if status == AppriseResultStatus.NOMATCH:
        return outcome(permanent=True, code="no_service",
                       summary="failed: no notification service took the URL")
    services = list(result)
    if status == AppriseResultStatus.TIMEOUT or (
        services and all(s.status == AppriseResultStatus.TIMEOUT for s in services)
    ):
        return outcome(permanent=False, code="timeout", summary="timed out")

    for _, message in reversed(lines):
        found = _HTTP_STATUS.search(message)
        if found:
            http = int(found.group(1))
            return outcome(permanent=http_is_permanent(http), code=f"http_{http}",
                           summary=f"failed with HTTP {http}", http=http)
        refused = _SMTP_REFUSED.search(message)
        if refused:
            smtp = int(refused.group(1))
            # SMTP's own convention: 5xx is permanent, 4xx is "try again later".
            return outcome(permanent=smtp >= 500, code=f"smtp_{smtp}",
                           summary=f"refused by the mail server ({smtp})", http=smtp)

    if status == AppriseResultStatus.PARTIAL:
        # Some targets of this URL were served: another attempt may repeat them, which is
        # better than losing the rest. One target per URL avoids this case.
        return outcome(permanent=False, code="partial",
                       summary="reached only some of its targets")
    if any(s.status == AppriseResultStatus.TIMEOUT for s in services):
        return outcome(permanent=False, code="timeout", summary="timed out")
    return outcome(permanent=False, code="failed", summary="failed")
