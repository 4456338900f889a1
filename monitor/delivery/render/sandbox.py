"""The Jinja2 environment alert templates run in: immutable sandbox plus output-bomb guards.

Jinja2 is imported only inside :mod:`monitor.delivery.render`. The sandbox stops attribute tricks
(``cycler.__init__.__globals__``...) and mutation; on top of it this module refuses operations
that would build huge values (F2: ``{{ 'a' * 50000000 }}``): string/list repetition and
concatenation, big powers, large ``%``/``str.format`` widths, padding methods and the
``center``/``indent``/``format``/``replace`` filters. ``range`` is limited to 1,000 items,
``lipsum`` is removed, every call/attribute/operator checks a time budget, and
:func:`run_template` stops reading output past a cap. Feed text is only ever template *data*.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from jinja2 import Template, TemplateError, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.filters import do_indent, do_replace
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from monitor.delivery.markup import Format, escape_markdown

MAX_VALUE = 100_000  # characters or items one template operation may produce
MAX_RANGE = 1_000
RENDER_BUDGET = 0.5  # seconds per render; the F2 figure is < 1 s


class TemplateLimitError(SecurityError):
    """A template operation would produce too much output or take too long."""


_DEADLINE: ContextVar[float | None] = ContextVar("render_deadline", default=None)
_WIDTH = re.compile(r"%[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*:[^{}]*(?:\{|\d{4,})")


def _check_deadline() -> None:
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateLimitError("the template took too long to render")


def _refuse_if(condition: bool, what: str) -> None:
    if condition:
        raise TemplateLimitError(f"{what} would exceed {MAX_VALUE} characters")


def _check_percent_format(fmt: str) -> None:
    for match in _WIDTH.finditer(fmt):
        for number in match.groups():
            # '%*s' takes its width from the arguments, where it cannot be checked.
            _refuse_if(number == "*" or (number is not None and int(number) > 1000),
                       "a %-format width")


def _small_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise TemplateLimitError(f"range() is limited to {MAX_RANGE} items in templates")
    return rng


def _center(value: Any, width: int = 80) -> str:
    _refuse_if(isinstance(width, int) and width > MAX_VALUE, "center()")
    return str(value).center(width)


def _indent(value: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    pad = width if isinstance(width, int) else len(width)
    _refuse_if(pad * (str(value).count("\n") + 1) > MAX_VALUE, "indent()")
    return do_indent(value, width, first, blank)


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_percent_format(str(value))
    return str(value) % (kwargs or args)


@pass_eval_context
def _replace(
    eval_ctx: EvalContext, value: str, old: str, new: str, count: int | None = None
) -> str:
    text, old_s, new_s = str(value), str(old), str(new)
    hits = text.count(old_s) if count is None else min(count, text.count(old_s))
    _refuse_if(len(text) + hits * len(new_s) > MAX_VALUE, "replace()")
    result: str = do_replace(eval_ctx, value, old, new, count)
    return result


class _GuardedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, with the output-bomb guards described in the module doc."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.globals["range"] = _small_range
        self.globals.pop("lipsum", None)  # generates text of any requested size
        self.filters.update(center=_center, indent=_indent, format=_format, replace=_replace)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_deadline()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    _refuse_if(len(seq) * times > MAX_VALUE, "a repetition")
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                _refuse_if(len(left) + len(right) > MAX_VALUE, "a concatenation")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                _refuse_if(left.bit_length() * right > 4096, "a power")
        elif operator == "%" and isinstance(left, str):
            _check_percent_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_deadline()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            _check_str_method(owner, getattr(__obj, "__name__", ""), args)
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _check_deadline()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _check_deadline()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            # Nested or very large field widths ('{:>{w}}', '{:>99999999}') build huge strings.
            _refuse_if(bool(_BRACE_SPEC.search(owner)), "a format width")
        return super().wrap_str_format(value)


def _check_str_method(owner: str, name: str, args: tuple[Any, ...]) -> None:
    first = args[0] if args else None
    if name in ("center", "ljust", "rjust", "zfill") and isinstance(first, int):
        _refuse_if(first > MAX_VALUE, f"{name}()")
    elif name == "expandtabs":
        tab = first if isinstance(first, int) else 8
        _refuse_if(len(owner) * max(tab, 1) > MAX_VALUE, "expandtabs()")
    elif name == "replace" and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        _refuse_if(len(owner) + (owner.count(old) + 1) * len(new) > MAX_VALUE, "replace()")
    elif name == "join" and isinstance(first, list | tuple | str):
        # Only materialised sequences: measuring a generator here would consume it.
        items = list(first)
        total = len(owner) * max(len(items) - 1, 0) + sum(len(str(i)) for i in items)
        _refuse_if(total > MAX_VALUE, "join()")


class MarkdownSafe(str):
    """Markdown that the renderer built itself: emitted as is, not escaped again.

    The Markdown counterpart of ``markupsafe.Markup``: any other value a Markdown template
    outputs is CommonMark-escaped by the environment's ``finalize``.
    """

    __slots__ = ()


def _finalize_text(value: Any) -> Any:
    return "" if value is None else value


def _finalize_markdown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, MarkdownSafe):
        return str(value)
    return escape_markdown(str(value))


@functools.cache
def environment(fmt: Format) -> _GuardedSandbox:
    """The (shared, thread-safe) environment for a format: HTML autoescapes, Markdown escapes."""
    options: dict[str, Any] = {"trim_blocks": True, "lstrip_blocks": True}
    if fmt == "html":
        return _GuardedSandbox(autoescape=True, finalize=_finalize_text, **options)
    finalize = _finalize_markdown if fmt == "markdown" else _finalize_text
    return _GuardedSandbox(autoescape=False, finalize=finalize, **options)


@functools.lru_cache(maxsize=128)
def compile_template(fmt: Format, source: str) -> Template:
    """Compile (and cache) template source, which comes from code or the config, never feeds."""
    return environment(fmt).from_string(source)


def template_problem(source: str) -> str | None:
    """Why ``source`` is not a Jinja2 template, in words for the configuration check (Jinja's
    message and the template's line), or None."""
    try:
        environment("text").parse(source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (template line {line})" if line else ""
        return f"not a valid template: {exc.message or exc}{where}"
    return None


def run_template(template: Template, context: dict[str, Any], cap: int) -> str:
    """Render with the time budget, stopping once the output passes ``cap`` characters."""
    token = _DEADLINE.set(time.monotonic() + RENDER_BUDGET)
    try:
        chunks: list[str] = []
        size = 0
        stream: Iterator[str] = template.generate(context)
        for chunk in stream:
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                break
        return "".join(chunks)
    finally:
        _DEADLINE.reset(token)

