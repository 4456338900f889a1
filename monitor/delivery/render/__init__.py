"""Rendering alerts (and digests of alerts) into messages, safely.

Feed text is untrusted. It only reaches a template as *data* (a value in the context), never
as template source; every value is cleaned (:mod:`monitor.text`), has its chat mentions
defused and is escaped for the message format when output: HTML autoescaping for ``html``, a
CommonMark escape (also valid MarkdownV2) for ``markdown`` (see :mod:`monitor.delivery.markup`).
Templates run in a guarded ``ImmutableSandboxedEnvironment`` (:mod:`.sandbox`), and the result
is cut to the target's length limit without splitting a tag or an escape.

The message keeps the format it was written in; :mod:`monitor.delivery.notify` declares exactly that
format to apprise, whose converters produce each service's own dialect from it.

An operator template (``channels.<name>.template``) that fails for any reason is replaced by
the built-in template for that message, so a config mistake never loses an alert;
``RenderedMessage.template_error`` says why.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError, meta
from jinja2.exceptions import SecurityError

from monitor.delivery.markup import (
    FORMATS,
    MARKDOWN_TEXT_TARGETS,
    Format,
    escape_for,
    sanitize,
    subject_line,
    target_limit,
    truncate,
    wire_length,
)
from monitor.delivery.render.context import (
    MAX_SNIPPETS,
    alert_context,
    distinct_snippets,
    effective_format,
)
from monitor.delivery.render.event import SCHEMA, alert_event, digest_event
from monitor.delivery.render.sandbox import (
    TemplateLimitError,
    compile_template,
    environment,
    run_template,
    template_problem,
)
from monitor.delivery.render.templates import ALERT_TEMPLATES, DIGEST_TEMPLATES
from monitor.models import Alert

__all__ = [
    "MARKDOWN_TEXT_TARGETS",
    "SCHEMA",
    "RenderedMessage",
    "TemplateLimitError",
    "alert_context",
    "alert_event",
    "default_format",
    "digest_event",
    "distinct_snippets",
    "effective_format",
    "render_alert",
    "render_digest",
    "render_notice",
    "template_problem",
]

log = logging.getLogger(__name__)

_SEPARATORS: dict[Format, str] = {"text": "\n\n----\n\n", "markdown": "\n\n----\n\n",
                                  "html": "\n<hr/>\n"}
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready for one destination.

    ``title`` is one line of plain text (a mail subject, a chat title); ``body`` is written in
    ``format`` with feed text escaped for it, for the ``target`` it was rendered for.
    """

    title: str
    body: str
    format: Format
    target: str | None = None
    truncated: bool = False
    template_error: str | None = None  # why the operator template was not used
    # A digest: how many of its alerts the body lists (the first ones). The dispatcher sends
    # the others in the next message rather than leave them as "and N more".
    items: int = 1
    # For json:// destinations in webhook "event" mode: the structured body (render.event),
    # sent instead of apprise's {"title", "message"} form.
    event: dict[str, Any] | None = None
    limit: int | None = None  # characters allowed at the service, title included

    @property
    def subject(self) -> str:
        """The title, under its mail name."""
        return self.title


def _tidy(body: str, fmt: Format) -> str:
    body = body.strip()
    return body if fmt == "html" else _BLANK_LINES.sub("\n\n", body)


def _operator_render(
    source: str, fmt: Format, context: Callable[[], dict[str, Any]], cap: int
) -> tuple[str | None, str | None]:
    """(body, None) from the operator's template, or (None, reason) when it cannot be used."""
    try:
        return run_template(compile_template(fmt, source), context(), cap), None
    # An operator template can fail in any way Python code can; whatever it was, the alert is
    # still sent with the built-in template and the reason is reported.
    except Exception as exc:  # noqa: BLE001
        line = getattr(exc, "lineno", None)
        reason = type(exc).__name__ + (f" at template line {line}" if line else "")
        if isinstance(exc, SecurityError | TemplateError):
            # Jinja's own messages name the construct, not the (untrusted) values.
            reason += f": {exc}"
        log.warning("channel template not used, built-in template instead: %s", reason)
        return None, reason


def _finish(
    *, title: str, body: str, fmt: Format, target: str | None, limit: int,
    template_error: str | None, event: dict[str, Any] | None = None, items: int = 1,
) -> RenderedMessage:
    body = _tidy(body, fmt)
    cut = truncate(title, body, fmt, target, limit)
    return RenderedMessage(title=title, body=cut, format=fmt, target=target,
                           truncated=cut != body, template_error=template_error, event=event,
                           limit=limit, items=items)


def render_alert(
    alert: Alert, *, format: Format, template: str | None, max_chars: int,
    target: str | None = None, timezone: str = "UTC", webhook: str = "event",
    web_url: str | None = None,
) -> RenderedMessage:
    """Render one alert for ``target`` (a ``notify.target_kind`` name, or None).

    ``format`` is the channel's format (``text`` becomes ``markdown`` for chats that draw
    Markdown anyway); ``template`` is the channel's Jinja2 source, or None for the built-in
    one; the result fits ``max_chars`` and the target's own limit (title included where the
    service puts the title in the body). For a ``json`` target with ``webhook="event"`` the
    message also carries the structured event (:mod:`.event`) that is sent instead.
    ``web_url`` (``web.public_url``) links the alert to its hit in the web view.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown message format {format!r}")
    fmt = effective_format(format, target)
    limit = target_limit(target, max_chars)
    title = subject_line(f"[{alert.rule_name}] {alert.title}", target)
    event = alert_event(alert, web_url) if target == "json" and webhook == "event" else None

    template_error = None
    if template is not None:
        custom, template_error = _operator_render(
            template, fmt,
            lambda: alert_context(alert, fmt, target, tz=timezone, web_url=web_url), limit + 1)
        if custom is not None:
            return _finish(title=title, body=custom, fmt=fmt, target=target, limit=limit,
                           template_error=None, event=event)

    # Built-in template: drop snippets one by one before cutting text off the end.
    builtin = compile_template(fmt, ALERT_TEMPLATES[fmt])
    body = ""
    for snippets in range(MAX_SNIPPETS, -1, -1):
        ctx = alert_context(alert, fmt, target, tz=timezone, max_snippets=snippets,
                            web_url=web_url)
        body = _tidy(run_template(builtin, ctx, limit * 8), fmt)
        if wire_length(title, body, fmt, target) <= limit or not ctx["snippets"]:
            break
    return _finish(title=title, body=body, fmt=fmt, target=target, limit=limit,
                   template_error=template_error, event=event)


def default_format(target: str | None) -> Format:
    """A channel's format when it sets none: HTML for mail (sent as multipart text and HTML),
    Markdown for chats that draw it, plain text for everything else."""
    if target == "email":
        return "html"
    if target in MARKDOWN_TEXT_TARGETS or target in {"slack", "telegram", "matrix"}:
        return "markdown"
    return "text"


def render_notice(
    subject: str, body: str, *, format: Format, max_chars: int, target: str | None = None,
) -> RenderedMessage:
    """A service notice (feed health, dead notifications); its text may quote feed data, so
    it is cleaned and escaped like any feed text."""
    fmt = effective_format(format, target)
    title = subject_line(f"[newsmonitor] {subject}", target)
    text = escape_for(sanitize(body, target), fmt)
    if fmt == "html":
        text = f"<p>{text}</p>"
    return _finish(title=title, body=text, fmt=fmt, target=target,
                   limit=target_limit(target, max_chars), template_error=None)


def _digest_title(alerts: Sequence[Alert], target: str | None) -> str:
    rules = list(dict.fromkeys(a.rule_name for a in alerts))
    noun = "alert" if len(alerts) == 1 else "alerts"
    return subject_line(f"[newsmonitor] {len(alerts)} {noun}: {', '.join(rules)}", target)


def _operator_digest(
    alerts: Sequence[Alert], template: str, fmt: Format, *, target: str | None, timezone: str,
    web_url: str | None, cap: int, fits: Callable[[str], bool],
) -> tuple[str | None, str | None, int]:
    """The digest from an operator template: whole (it uses ``alerts``) or item by item, as
    many whole items as ``fits`` (at least one); with how many alerts it lists."""
    try:
        whole = "alerts" in meta.find_undeclared_variables(environment(fmt).parse(template))
    except TemplateError:
        whole = True  # _operator_render reports the syntax error
    if whole:
        body, error = _operator_render(
            template, fmt,
            lambda: {"alerts": [alert_context(a, fmt, target, tz=timezone, web_url=web_url)
                                for a in alerts],
                     "count": len(alerts), "more": 0},
            cap)
        return body, error, len(alerts)
    parts: list[str] = []
    for alert in alerts:
        def one(a: Alert = alert) -> dict[str, Any]:
            return alert_context(a, fmt, target, tz=timezone, web_url=web_url)

        part, error = _operator_render(template, fmt, one, cap)
        if part is None:
            return None, error, 0
        joined = _SEPARATORS[fmt].join([*parts, _tidy(part, fmt)])
        if parts and not fits(joined):  # this one goes in the next message
            break
        parts.append(_tidy(part, fmt))
    return _SEPARATORS[fmt].join(parts), None, len(parts)


def render_digest(
    alerts: Sequence[Alert], *, format: Format, template: str | None, max_chars: int,
    target: str | None = None, timezone: str = "UTC", webhook: str = "event",
    web_url: str | None = None,
) -> RenderedMessage:
    """Render several alerts as one message, keeping as many whole items as fit.

    An operator template that uses ``alerts`` renders the whole digest (variables ``alerts``,
    ``count``, ``more``); any other template is applied to each alert and the results are
    joined. The built-in digest drops snippets, then trailing items ("and N more"), to fit;
    ``items`` of the result says how many it kept (the dispatcher sends the rest next).
    """
    if format not in FORMATS:
        raise ValueError(f"unknown message format {format!r}")
    if not alerts:
        raise ValueError("a digest needs at least one alert")
    fmt = effective_format(format, target)
    limit = target_limit(target, max_chars)
    title = _digest_title(alerts, target)
    event = digest_event(alerts, web_url) if target == "json" and webhook == "event" else None

    def fits(text: str) -> bool:  # text tidied already: the built-in's, or tidied parts
        return wire_length(title, text, fmt, target) <= limit

    template_error = None
    if template is not None:
        custom, template_error, items = _operator_digest(
            alerts, template, fmt, target=target, timezone=timezone, web_url=web_url,
            cap=limit + 1, fits=fits)
        if custom is not None:
            return _finish(title=title, body=custom, fmt=fmt, target=target, limit=limit,
                           template_error=None, event=event, items=items)

    builtin = compile_template(fmt, DIGEST_TEMPLATES[fmt])

    def attempt(count: int, snippets: int) -> str:
        ctx = {"alerts": [alert_context(a, fmt, target, tz=timezone, max_snippets=snippets,
                                        web_url=web_url)
                          for a in alerts[:count]],
               "count": len(alerts), "more": len(alerts) - count}
        return _tidy(run_template(builtin, ctx, limit * 8), fmt)

    items = len(alerts)
    body = attempt(items, 1)
    if not fits(body):
        body = attempt(items, 0)
    if not fits(body):
        # The largest number of whole items that fits (at least one, cut if need be).
        low, high = 1, len(alerts)
        while low < high:
            mid = (low + high + 1) // 2
            if fits(attempt(mid, 0)):
                low = mid
            else:
                high = mid - 1
        items = low
        body = attempt(items, 0)
    return _finish(title=title, body=body, fmt=fmt, target=target, limit=limit,
                   template_error=template_error, event=event, items=items)
