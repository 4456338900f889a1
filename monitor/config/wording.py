"""Configuration problems in words: a key path as written (``channels.team.urls[0]``), the
setting a misspelt name most likely meant (in its section, or in another one for a setting
written at the wrong level), and why a value YAML did not read as text is none."""

from __future__ import annotations

import typing
from datetime import date
from typing import Any

from pydantic import BaseModel

from monitor.config.settings import Config
from monitor.text import closest

# Fields of the model that the loader fills in, never the file.
RESERVED = ("base_dir", "source")


def dotted(loc: tuple[Any, ...]) -> str:
    """``channels.team.urls[0]``: a key path as the file writes it."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The settings model a location inside the configuration falls in, if any."""
    model: type[BaseModel] = Config
    index = 0
    while index < len(loc):
        field = model.model_fields.get(str(loc[index]))
        if field is None:
            return None
        inner = [a for a in (field.annotation, *typing.get_args(field.annotation))
                 if isinstance(a, type) and issubclass(a, BaseModel)]
        if not inner:
            return None
        origin = typing.get_origin(field.annotation)
        index += 2 if origin in (list, dict) else 1  # skip the list index or channel name
        model = inner[0]
    return model


def all_settings(model: type[BaseModel], prefix: str = "") -> dict[str, str]:
    """Every setting's last name -> its dotted path (for suggestions across sections)."""
    found: dict[str, str] = {}
    for name, field in model.model_fields.items():
        if name in RESERVED:
            continue
        found.setdefault(name, f"{prefix}{name}")
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for leaf, dotted in all_settings(annotation, f"{prefix}{name}.").items():
                found.setdefault(leaf, dotted)
    return found


def did_you_mean(word: str, choices: Any) -> str:
    """``; did you mean X?`` for the closest of ``choices``, or an empty string."""
    close = closest(str(word), choices, cutoff=0.75)
    return f"; did you mean {close}?" if close else ""


def quote_it(value: object) -> str | None:
    """Why a value YAML read as true, false, a number, a date or nothing is no text, and the
    fix."""
    if isinstance(value, bool):
        return ("must be a text, not true or false (unquoted, YAML reads yes, no, on and off "
                "as true or false): put it in quotes")
    if isinstance(value, int | float):
        return f"must be a text, not the number {value!r}: put it in quotes"
    if isinstance(value, date):
        return f"must be a text, not the date {value.isoformat()}: put it in quotes"
    if value is None:
        return "must be a text, not empty (YAML reads ~, null and nothing at all as no value)"
    return None


def unknown_setting(loc: tuple[Any, ...]) -> str:
    """``unknown setting; did you mean polling.tick?`` for the key at ``loc``."""
    *parent, key = loc
    model = model_at(tuple(parent))
    known = [n for n in model.model_fields if n not in RESERVED] if model else []
    if model is Config:
        known.append("secrets_file")  # read by the loader itself, not a field of the model
    hint = did_you_mean(key, known)
    if not hint and model is Config:  # a section's setting written at the top level
        everywhere = all_settings(Config)
        close = closest(str(key), everywhere, cutoff=0.75)
        hint = f"; did you mean {everywhere[close]}?" if close else ""
    return "unknown setting" + hint


def written(value: object) -> str:
    """A value as the file wrote it, in words (``the text 'many'``, ``true or false``)."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if value is None:
        return "empty"
    if isinstance(value, str):
        return f"the text {value[:60]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "settings (a mapping)"
    return "a single value"


def value_problem(kind: str, value: object, context: dict[str, Any]) -> str | None:
    """A pydantic error of type ``kind`` in words, with what was written; None for a kind
    without words of its own (pydantic's message is used)."""
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"must be a whole number, not {written(value)}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number, not {written(value)}"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false, not {written(value)}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"greater_than_equal": ("at least", "ge"), "greater_than": ("more than", "gt"),
                 "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}[kind]
        return f"must be {bound[0]} {context.get(bound[1])}, not {value!r}"
    if kind == "list_type":
        return f"must be a list ([a, b], or one `- item` per line below it), not {written(value)}"
    if kind == "too_short" and context.get("actual_length") == 0:
        return "must not be empty"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}, not {written(value)}"
    return None


def not_settings(loc: tuple[Any, ...], value: object) -> str:
    """Why a section, channel or feed written as one value (``polling: 15m``) is refused."""
    if loc[:1] == ("feeds",) and len(loc) == 2:
        return (f"a feed is its URL (- https://...) or its settings (- url: ...), not "
                f"{written(value)}")
    return (f"holds settings (each `name: value` on a line of its own, indented below it), "
            f"not {written(value)}")
