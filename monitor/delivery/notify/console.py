"""The console channel: every alert printed as plain text on standard output
(``delivery.console``, on by default)."""

from __future__ import annotations

import sys
from typing import TextIO

from monitor.delivery.notify.outcome import DeliveryOutcome
from monitor.delivery.render import RenderedMessage, render_alert
from monitor.models import Alert


class ConsoleNotifier:
    """Prints alerts as plain text to a stream (stdout by default): the demo's channel."""

    def __init__(self, stream: TextIO | None = None, *, max_chars: int = 4000,
                 timezone: str = "UTC") -> None:
        self._stream = stream
        self._max_chars = max_chars
        self._timezone = timezone

    def show(self, alert: Alert, web_url: str | None = None) -> DeliveryOutcome:
        """Render ``alert`` in the text format and print it (with its page in the web view
        at ``web_url``, ``web.public_url``, when set)."""
        message = render_alert(alert, format="text", template=None, max_chars=self._max_chars,
                               target="console", timezone=self._timezone, web_url=web_url)
        return self.send(message)

    def send(self, message: RenderedMessage) -> DeliveryOutcome:
        """Print an already rendered message (title line, body, blank line)."""
        # Resolved at call time so a replaced sys.stdout (tests, daemons) is honoured.
        stream = self._stream if self._stream is not None else sys.stdout
        if stream is None:  # started with stdout closed (`monitor run >&-`)
            return DeliveryOutcome(ok=False, error="console output failed: no standard output",
                                   code="console")
        text = f"{message.title}\n{message.body}\n\n"
        try:
            try:
                stream.write(text)
            except UnicodeEncodeError:  # a terminal in Latin-1 or ASCII: "?" for the rest
                encoding = getattr(stream, "encoding", None) or "ascii"
                stream.write(text.encode(encoding, "replace").decode(encoding))
            stream.flush()
        except (OSError, ValueError) as exc:  # closed pipe or stream
            return DeliveryOutcome(ok=False, error=f"console output failed: {exc}",
                                   code="console")
        return DeliveryOutcome(ok=True)
