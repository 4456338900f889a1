"""The parsed query: an expression tree of phrases, entity references, NEAR and SENTENCE
groups, column filters and AND / OR / NOT (:func:`monitor.rules.query.parse_query` builds it;
the compiler, the candidate filter and the tests read it)."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.models import Field

FIELDS: tuple[Field, Field] = ("title", "body")
ALL_FIELDS = frozenset(FIELDS)


@dataclass(frozen=True)
class PhraseToken:
    """One folded token of a phrase; ``prefix`` makes it match any token starting with it."""

    text: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    """Tokens that must occur consecutively. ``caret``: at the very start of a field."""

    tokens: tuple[PhraseToken, ...]
    written: str
    caret: bool = False


@dataclass(frozen=True)
class EntityRef:
    """``@id``: any alias of the entity (each alias a phrase)."""

    entity: str
    written: str
    caret: bool = False


@dataclass(frozen=True)
class Near:
    """``NEAR(a "b c" d, N)``: all items, at most N tokens between first end and last start."""

    items: tuple[Phrase | EntityRef, ...]
    distance: int
    written: str


@dataclass(frozen=True)
class Sentence:
    """``SENTENCE(a "b c" @d)``: all items in one sentence of the same field."""

    items: tuple[Phrase | EntityRef, ...]
    written: str


@dataclass(frozen=True)
class Filter:
    """``title:x``, ``{title body}:(...)``, ``-title:x``: search only these fields."""

    columns: frozenset[str]
    child: Expr


@dataclass(frozen=True)
class And:
    """All children (``AND``, or terms side by side)."""

    children: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    """Any child."""

    children: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    """``left NOT right``: left matches and right does not (there is no unary NOT)."""

    left: Expr
    right: Expr


Expr = Phrase | EntityRef | Near | Sentence | Filter | And | Or | Not


def leaves(expr: Expr) -> list[Phrase | EntityRef]:
    """Every term, phrase and ``@id`` in the query (NEAR and SENTENCE items too), in order."""
    if isinstance(expr, Phrase | EntityRef):
        return [expr]
    if isinstance(expr, Near | Sentence):
        return list(expr.items)
    if isinstance(expr, Filter):
        return leaves(expr.child)
    if isinstance(expr, And | Or):
        return [leaf for child in expr.children for leaf in leaves(child)]
    return leaves(expr.left) + leaves(expr.right)  # Not


def entity_refs(expr: Expr) -> list[EntityRef]:
    """Every ``@id`` in the query, in order."""
    return [leaf for leaf in leaves(expr) if isinstance(leaf, EntityRef)]


def phrases(expr: Expr) -> list[Phrase]:
    """Every term and phrase in the query (NEAR and SENTENCE items too), in order."""
    return [leaf for leaf in leaves(expr) if isinstance(leaf, Phrase)]
