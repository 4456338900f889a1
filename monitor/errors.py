"""Every error newsmonitor raises on purpose.

Stages translate third-party exceptions at their boundary (``raise FetchError(...) from exc``)
and the one place that decides what to do catches them: the pipeline records feed and article
errors in the store, the dispatcher records delivery attempts, the CLI turns configuration and
rule errors into one clear line and exit code 2.

Expected outcomes are not errors: "304 not modified", "no match" and "nothing new" are return
values.

The tree::

    MonitorError
    ├── ConfigError                 bad monitor.yaml or a missing environment variable
    ├── YamlSyntaxError             a YAML file that does not parse (its caller adds the path)
    ├── RuleError                   bad rule files (carries every RuleProblem found)
    │   └── QuerySyntaxError        one query that does not parse
    ├── FetchError                  an HTTP or file fetch that did not produce a body
    │   ├── BlockedAddressError     SSRF policy refused the host or a redirect hop
    │   ├── UnsupportedSchemeError  not http(s), or a file path not configured as trusted
    │   ├── InvalidURLError         malformed URL: backslash, credentials, control characters
    │   ├── RobotsDisallowedError   robots.txt forbids fetching the page
    │   ├── TooManyRedirectsError
    │   ├── BodyTooLargeError       declared or decoded size over the cap
    │   ├── FetchTimeoutError       connect, read or total deadline
    │   ├── DecodingError           bad or unknown Content-Encoding
    │   ├── TLSError                certificate problems
    │   └── HTTPStatusError         a status the fetcher does not treat as success
    │       ├── ServerError         5xx: the server's fault, worth another try later
    │       └── RateLimitedError    429/503, carries the Retry-After delay
    ├── ParseError                  bytes that are not a feed (``too_complex``: the parse
    │   │                           worker ran out of memory or died)
    │   ├── NotAFeedError           an HTML page served where a feed was expected
    │   ├── OpmlError               an OPML file that cannot be read (with its line)
    │   └── ParseTimeoutError       the parse worker was killed at feeds' parse timeout
    ├── ExtractError                article text could not be extracted
    │   └── ExtractTimeoutError     the extraction worker was killed at its limit
    ├── StoreError                  the database cannot be opened, refused or is unreachable
    └── NotifyError                 a delivery attempt failed
        └── PermanentNotifyError    retrying cannot help (e.g. 401, refused address)

Each error has a short machine-readable ``code`` (``blocked_address``, ``timeout_total``...)
that the store records as the error class, so operators can filter on it. The fetch errors a
later try may not meet (a timeout, a refused connection, a 5xx, a rate limit) are
``transient``; :data:`TRANSIENT_FETCH_CODES` names their codes, for deciding from a stored
code (an article whose page failed so is fetched again by a later poll).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self


class MonitorError(Exception):
    """Base of every newsmonitor error."""

    code = "error"

    @classmethod
    def coded(cls, message: str, code: str) -> Self:
        """An error of this class with a more specific ``code`` than the class's own
        (``pool_closed``, ``too_complex``...). An instance attribute: it survives pickling
        back from a worker process."""
        err = cls(message)
        err.code = code
        return err


class ConfigError(MonitorError):
    """The configuration file is invalid or refers to a missing environment variable.

    ``str(err)`` is one line per problem: ``path:line: field: message``. A file with several
    problems raises one error whose ``problems`` lists each (see :meth:`combine`); a single
    problem's ``problems`` is itself.
    """

    code = "config"

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.message = message
        self.problems: tuple[ConfigError, ...] = (self,)
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")

    @classmethod
    def combine(cls, problems: list[ConfigError]) -> ConfigError:
        """One error for every problem of a file, in line order (``str``: one per line)."""
        ordered = sorted(problems, key=lambda p: (p.line or 0))
        if len(ordered) == 1:
            return ordered[0]
        first = ordered[0]
        combined = cls(first.message, path=first.path, line=first.line)
        combined.problems = tuple(ordered)
        combined.args = ("\n".join(str(p) for p in ordered),)
        return combined


class YamlSyntaxError(MonitorError):
    """A YAML document that does not parse: ``message`` in plain words, ``line`` 1-based
    (None when unknown). The configuration loader turns it into a ConfigError, the rule
    loader into a RuleProblem, each naming its file."""

    code = "yaml_syntax"

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(message if line is None else f"line {line}: {message}")


@dataclass(frozen=True)
class RuleProblem:
    """One problem in a rule file, reported as ``path:line: message`` (``path: message`` for
    the whole file, line 0)."""

    path: str
    line: int
    message: str
    rule_id: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else (
            f"{self.path}: {self.message}")


class RuleError(MonitorError):
    """Rule files that cannot be loaded; ``problems`` lists each one with file and line."""

    code = "rules"

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class QuerySyntaxError(RuleError):
    """A query string that does not parse. ``column`` is 0-based within the query."""

    code = "query_syntax"

    def __init__(self, message: str, column: int = 0) -> None:
        self.column = column
        self.detail = message
        super().__init__([RuleProblem(path="<query>", line=1, message=message)])

    def __str__(self) -> str:
        return self.detail


class FetchError(MonitorError):
    """A fetch that produced no usable body. ``url`` is the URL (or redirect hop) at fault.
    This class itself: the connection failed (refused, reset, no DNS answer)."""

    code = "fetch_error"
    transient = True  # a later try may succeed; False where retrying cannot help

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(message)


class BlockedAddressError(FetchError):
    code = "blocked_address"
    transient = False


class UnsupportedSchemeError(FetchError):
    code = "unsupported_scheme"
    transient = False


class InvalidURLError(FetchError):
    """A URL refused for its notation (backslash, userinfo, controls) before any network use."""

    code = "invalid_url"
    transient = False


class RobotsDisallowedError(FetchError):
    """The site's robots.txt forbids fetching this page (``http.respect_robots_txt``)."""

    code = "robots_disallowed"
    transient = False


class TooManyRedirectsError(FetchError):
    code = "too_many_redirects"
    transient = False


class BodyTooLargeError(FetchError):
    code = "body_too_large"
    transient = False


class FetchTimeoutError(FetchError):
    code = "timeout_total"
    transient = True


class DecodingError(FetchError):
    code = "decoding_error"
    transient = False


class TLSError(FetchError):
    code = "tls_error"
    transient = False


class HTTPStatusError(FetchError):
    """A 4xx (or an unexpected status): the request is refused as made; see ServerError."""

    code = "http_status"
    transient = False

    def __init__(self, message: str, *, url: str | None = None, status: int = 0) -> None:
        self.status = status
        super().__init__(message, url=url)


class ServerError(HTTPStatusError):
    """A 5xx: the server failed (overloaded, restarting, a broken upstream)."""

    code = "server_error"
    transient = True


class RateLimitedError(HTTPStatusError):
    code = "rate_limited"
    transient = True

    def __init__(
        self, message: str, *, url: str | None = None, status: int = 429,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, url=url, status=status)


# The codes of the fetch errors a later try may not meet, for deciding from a stored code.
TRANSIENT_FETCH_CODES = frozenset({
    error.code for error in (FetchError, FetchTimeoutError, ServerError, RateLimitedError)})


class ParseError(MonitorError):
    code = "parse_error"


class NotAFeedError(ParseError):
    code = "not_a_feed"


class OpmlError(ParseError):
    """An OPML document that cannot be read; ``line`` (1-based) is where, when known.

    The message names no line: the caller writes ``path:line: message``.
    """

    code = "opml_error"

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(message, line)

    def __str__(self) -> str:
        return self.message


class ParseTimeoutError(ParseError):
    code = "parse_timeout"


class ExtractError(MonitorError):
    code = "extract_error"


class ExtractTimeoutError(ExtractError):
    code = "extract_timeout"


class StoreError(MonitorError):
    code = "store_error"


class NotifyError(MonitorError):
    """A delivery attempt failed; the dispatcher retries it with backoff."""

    code = "notify_error"


class PermanentNotifyError(NotifyError):
    """A delivery that retrying cannot fix; the outbox row is marked dead at once."""

    code = "notify_permanent"
