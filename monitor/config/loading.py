"""Reading the configuration file: YAML with line numbers, ``${VAR}`` expansion and the
secrets file (:mod:`monitor.config.secrets`), and every problem as a one-line
:class:`ConfigError` naming the file, the line and the field (with a suggestion for a
misspelt setting)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from monitor.config.notes import day_scale_problems, interval_notes
from monitor.config.secrets import (
    ENV_REF,
    check_private,
    expand_env,
    literal_password,
    literal_secret,
    secrets_file_values,
    utf8_values,
)
from monitor.config.serving import WebConfig, split_listen
from monitor.config.settings import Config
from monitor.config.wording import (
    RESERVED,
    dotted,
    not_settings,
    quote_it,
    unknown_setting,
    value_problem,
)
from monitor.errors import ConfigError, YamlSyntaxError
from monitor.language_codes import language_problem
from monitor.models import MAX_URL_CHARS
from monitor.text import closest, shown_path
from monitor.yamldoc import (
    MappingNode,
    Node,
    SequenceNode,
    line_of,
    mapping_pairs,
    merge_keys,
    not_utf8,
    read_yaml,
)


def _line_index(node: Node, prefix: tuple[Any, ...] = (),
                twice: list[tuple[tuple[Any, ...], int, int]] | None = None,
                seen: set[int] | None = None) -> dict[tuple[Any, ...], int]:
    """Map every key path in a composed YAML document to its 1-based line; a key given twice
    in one mapping is added to ``twice`` as (path, line, first line).

    Read before the document's values are built: building them merges ``<<: *anchor`` keys
    into the mapping's nodes, where a key the mapping overrides would look given twice. A
    merged key takes the line where it is written. A list or mapping met again through an
    alias (``*name``) is not walked again: paths inside it take the alias's line.
    """
    seen = set() if seen is None else seen
    lines: dict[tuple[Any, ...], int] = {prefix: line_of(node)}
    if id(node) in seen:
        return lines
    if isinstance(node, MappingNode):
        seen.add(id(node))
        merges = merge_keys(node)
        if twice is not None:  # two `<<:` keys: one with a list of mappings is meant
            twice.extend(((*prefix, "<<"), line_of(key), line_of(merges[0]))
                         for key in merges[1:])
        for key_node, value_node in mapping_pairs(node):  # a merged key: where it is written
            path = (*prefix, key_node.value)
            if path in lines and twice is not None:
                # YAML keeps the last value silently: a second `feeds:` would drop the first.
                twice.append((path, line_of(key_node), lines[path]))
            lines.update(_line_index(value_node, path, twice, seen))
            lines[path] = line_of(key_node)
    elif isinstance(node, SequenceNode):
        seen.add(id(node))
        for index, item in enumerate(node.value):
            lines.update(_line_index(item, (*prefix, index), twice, seen))
    return lines


def _line_for(lines: Mapping[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _local_file_problem(target: Path) -> str | None:
    try:
        if target.is_file():
            return None  # else a folder, a device (/dev/zero), a pipe, or nothing
        there = target.exists()
    except OSError as exc:  # a folder on the way this user may not enter
        return f"local file {target} cannot be read: {exc.strerror or exc}"
    return f"local file {target} {'is not a regular file' if there else 'does not exist'}"


# A path that starts with a host name (labels, a dot, a top-level domain), as a URL typed
# without its scheme does; feed.xml is a file name, not a host in the .xml domain.
_HOST_FIRST = re.compile(r"[\w-]+(?:\.[\w-]+)*\.([a-zA-Z]{2,})(?:/|$)")
_FILE_SUFFIXES = frozenset({"xml", "rss", "atom", "json", "opml", "txt", "html", "htm"})


def _feed_url_problem(url: str, base: Path) -> str | None:
    """Why a configured feed URL can never be polled (scheme, missing local file), or None."""
    if "://" not in url:
        problem = _local_file_problem(Path(url) if Path(url).is_absolute() else base / url)
        host = _HOST_FIRST.match(url)  # news.example/rss: a web address without its scheme
        if problem is not None and host and host.group(1).lower() not in _FILE_SUFFIXES:
            problem += "; a web address needs https:// before it"
        return problem
    scheme = url.partition("://")[0].lower()
    try:
        parts = urlsplit(url)
    except ValueError:  # a '[' or ']' around no IPv6 address
        return ("not a valid URL: '[' and ']' belong around an IPv6 address only "
                "(elsewhere %5B, %5D)")
    if scheme == "file":
        return _local_file_problem(Path(parts.path))
    if scheme not in ("http", "https"):
        close = closest(scheme, ["http", "https"])  # htps, hhtp
        return (f"scheme {scheme!r} is not fetched (use http, https or a local file path)"
                + (f"; did you mean {close}?" if close else ""))
    if "@" in parts.netloc:  # the fetcher refuses them: every poll would fail
        return ("credentials (user@host) in a feed URL are not supported: the fetcher "
                "refuses them")
    if not parts.hostname:
        return "the URL has no host"
    if len(url) > MAX_URL_CHARS:  # the store's column (PostgreSQL refuses a longer one)
        return f"URL longer than {MAX_URL_CHARS} characters"
    return None


def _same_feed_key(url: str) -> str:
    """``url`` as two listings of one feed write it alike: trimmed, scheme and host in lower
    case (both are case-insensitive), the host in its ASCII form (``пример.рф`` is
    ``xn--e1afmkfd.xn--p1ai``, and the fetcher asks for the same host)."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    try:
        host = host.lower().encode("idna").decode("ascii")
    except UnicodeError:  # not a name IDNA can write: the fetch says why
        host = host.lower()
    return f"{scheme.lower()}://{host}{slash}{path}"


def _channels(data: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    channels = data.get("channels")
    return [(name, channel) for name, channel in
            (channels.items() if isinstance(channels, dict) else ()) if isinstance(channel, dict)]


def _unknown_channel_refs(data: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """``delivery.default_channels`` and ``delivery.admin_channel`` entries naming no channel,
    each at its own place (the model checks them too, but can only say "top level")."""
    # A name that is not a text (`7:`, or `~:`, no name at all) is the model's to report.
    names = [name for name, _channel in _channels(data) if isinstance(name, str)]
    delivery = data.get("delivery")
    if not isinstance(delivery, dict):
        return []
    defaults = delivery.get("default_channels")
    refs: list[tuple[tuple[Any, ...], object]] = [
        (("delivery", "default_channels", i), ref)
        for i, ref in enumerate(defaults if isinstance(defaults, list) else [])]
    refs.append((("delivery", "admin_channel"), delivery.get("admin_channel")))
    out = []
    for loc, ref in refs:
        if isinstance(ref, str) and ref not in names:
            close = closest(ref, names)
            hint = f"; did you mean {close}?" if close else ""
            out.append((loc, f"channel {ref!r} is not defined under channels{hint}"))
    return out


def _listen_clash(config: Config) -> str | None:
    """Why ``metrics.listen`` cannot be served beside the web view: the same port on an
    address they share. The daemon then logged an ERROR at start and served neither probes
    nor metrics there, while ``monitor check`` had passed it."""
    if not config.metrics.listen or not config.web.enabled:
        return None
    host, port = split_listen(config.metrics.listen)
    web_host, web_port = split_listen(config.web.listen)
    if port == 0 or port != web_port:
        return None
    # "::" takes IPv4 too (Linux's default); "0.0.0.0" takes IPv4 only
    wildcards = {"::"} if ":" in host + web_host else {"::", "0.0.0.0"}  # noqa: S104
    if host != web_host and not {host, web_host} & wildcards:
        return None
    return (f"{config.metrics.listen} is web.listen's port too ({config.web.listen}): give it "
            "another, or leave metrics.listen out (the web view serves /metrics, /healthz "
            "and /readyz itself when `monitor run` serves it)")


def _channel_urls(data: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """Each channel URL written in the file, with its key path."""
    return [(("channels", name, "urls", i), url) for name, channel in _channels(data)
            if isinstance(channel.get("urls"), list)
            for i, url in enumerate(channel["urls"]) if isinstance(url, str)]


def _channel_settings(data: Mapping[str, Any], setting: str
                      ) -> list[tuple[tuple[Any, ...], str]]:
    """Each channel's ``setting`` written in the file (a string), with its key path."""
    return [(("channels", name, setting), channel[setting]) for name, channel in _channels(data)
            if isinstance(channel.get(setting), str)]


@dataclass(frozen=True)
class StageChecks:
    """Checks of settings only a stage can judge, each saying why a value cannot be used (or
    None): this package knows no notification service, cron syntax, template language,
    address policy or web server. The command line gathers them from the stages
    (``monitor.cli.app``) for the commands that send or check."""

    channel_url: Callable[[str], str | None]  # a channel URL, its variables expanded
    digest_schedule: Callable[[str], str | None]  # an interval or a cron expression
    template: Callable[[str], str | None]  # a channel's Jinja2 template
    private_network: Callable[[str], str | None]  # an http.allow_private_networks entry
    web: Callable[[WebConfig], str | None]  # the web view's listen address and authentication
    web_path: Callable[[WebConfig], str | None]  # web.public_url's path, beside the app's own
    feed_url: Callable[[str], str | None]  # an http(s) feed URL's text, as the fetcher reads it


def _stage_checked(data: Mapping[str, Any], checks: StageChecks,
                   missing: list[tuple[Any, ...]]
                   ) -> list[tuple[tuple[Any, ...], str, Callable[[str], str | None]]]:
    """Each value written in the file that a stage check judges: (key path, value, check).
    A URL whose variable is unset is left out (that is reported already)."""
    unset = {tuple(where) for *where, _name in missing}
    http = data.get("http")
    allowed = http.get("allow_private_networks") if isinstance(http, dict) else None
    return [
        *((loc, url, checks.channel_url) for loc, url in _channel_urls(data) if loc not in unset),
        *((loc, spec, checks.digest_schedule)
          for loc, spec in _channel_settings(data, "digest_schedule")),
        *((loc, source, checks.template) for loc, source in _channel_settings(data, "template")),
        *((("http", "allow_private_networks", i), entry, checks.private_network)
          for i, entry in enumerate(allowed if isinstance(allowed, list) else [])
          if isinstance(entry, str)),
    ]


def load_config(path: Path | None, environ: Mapping[str, str], *,
                checks: StageChecks | None = None) -> Config:
    """Read, expand and validate the configuration; raise ConfigError with file and line.

    Every problem of the file is reported at once (``ConfigError.problems``), each as
    ``path:line: field: message``, with a suggestion for a misspelt setting.
    ``path=None`` gives the embedded defaults anchored at the current directory.
    ``checks`` adds the problems only a stage can find (see :class:`StageChecks`).
    """
    twice: list[tuple[tuple[Any, ...], int, int]] = []
    if path is None:
        data: dict[str, Any] = {}
        lines: dict[tuple[Any, ...], int] = {}
        base = Path.cwd()
        shown = "<defaults>"
    else:
        shown = shown_path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the configuration: {exc.strerror}", path=shown) from exc
        except UnicodeDecodeError as exc:
            error = not_utf8(exc)
            raise ConfigError(error.message, path=shown, line=error.line) from exc
        try:
            document = read_yaml(text)
        except YamlSyntaxError as exc:
            raise ConfigError(f"YAML syntax: {exc.message}", path=shown, line=exc.line) from exc
        node = document.root
        lines = _line_index(node, (), twice) if node is not None else {}
        loaded = document.data()  # after the lines: this merges the `<<` keys into the nodes
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError("the configuration must be a mapping of settings", path=shown, line=1)
        data = loaded
        # A pipe (-c /dev/stdin, -c <(...)) or /dev/null has no folder of its own: relative
        # paths then mean what they mean in the shell that gave it.
        base = path.resolve().parent if path.is_file() else Path.cwd()

    env, undecodable = utf8_values({**secrets_file_values(data, base, shown, lines), **environ})
    if path is not None and any(literal_secret(u) for _loc, u in _channel_urls(data)):
        check_private(path, shown, "channel URLs in this file contain secrets")
    if path is not None and literal_password(data.get("database_url")):
        check_private(path, shown, "database_url in this file contains a password")

    problems: list[ConfigError] = []

    def problem(loc: tuple[Any, ...], message: str) -> None:
        problems.append(ConfigError(f"{dotted(loc)}: {message}", path=shown,
                                    line=_line_for(lines, loc)))

    for key_path, line, first in twice:
        problems.append(ConfigError(f"{dotted(key_path)}: given twice (first on line {first}): "
                                    "keep one", path=shown, line=line))
    missing: list[tuple[Any, ...]] = []
    referenced = [(u, expand_env(u, env, (), [])) for _loc, u in _channel_urls(data)
                  if ENV_REF.search(u)]
    data = expand_env(data, env, (), missing)
    for *where, name in missing:
        problem(tuple(where), f"environment variable {name} " + (
            "has bytes that are not UTF-8" if name in undecodable else "is not set"))
    if checks is not None:
        for loc, value, check in _stage_checked(data, checks, missing):
            unusable = check(value)
            if unusable is not None:
                problem(loc, unusable)
    if env.get("MONITOR_DATABASE_URL"):
        data["database_url"] = env["MONITOR_DATABASE_URL"]
    elif "MONITOR_DATABASE_URL" in undecodable:
        problem(("database_url",), "environment variable MONITOR_DATABASE_URL has bytes that "
                "are not UTF-8")
    for reserved in RESERVED:
        if reserved in data:
            problem((reserved,), "is not a setting")
            del data[reserved]
    feeds = data.get("feeds")
    if isinstance(feeds, list):  # `- https://news.example/rss`: a feed written as its URL alone
        data["feeds"] = feeds = [{"url": f} if isinstance(f, str) else f for f in feeds]
    listed: dict[str, int] = {}  # a feed URL -> the index where it was first listed
    for index, feed in enumerate(feeds if isinstance(feeds, list) else []):
        url = feed.get("url") if isinstance(feed, dict) else None
        if isinstance(url, str) and url.strip():
            reason = _feed_url_problem(url.strip(), base)
            if reason is None and checks is not None and "://" in url:
                reason = checks.feed_url(url.strip())  # a space, a port of 99999...
            if reason is not None:
                problem(("feeds", index, "url"), reason)
            same = _same_feed_key(url)
            if same in listed:  # the store keeps one feed per URL: the later entry would win
                first_line = _line_for(lines, ("feeds", listed[same]))
                problem(("feeds", index, "url"), f"listed twice (first as feeds[{listed[same]}]"
                        + (f", line {first_line}" if first_line else "") + "): keep one")
            listed.setdefault(same, index)
        language = feed.get("language") if isinstance(feed, dict) else None
        if isinstance(language, str) and (reason := language_problem(language)) is not None:
            problem(("feeds", index, "language"), reason)  # else rules' languages: never meet it
    for loc, message in day_scale_problems(data):  # a missing unit: the archive pruned
        problem(loc, message)
    named = _unknown_channel_refs(data)
    for loc, message in named:
        problem(loc, message)
    config: Config | None = None
    try:
        config = Config.model_validate({**data, "base_dir": base, "source": shown})
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = unknown_setting(loc)
            elif err["type"] == "model_type":  # `polling: 15m`
                message = not_settings(loc, err["input"])
            elif err["type"] == "string_too_short" and err["input"] == "":
                message = "must not be empty"
            elif (worded := value_problem(err["type"], err["input"], err.get("ctx", {}))):
                message = worded
            elif err["type"] == "string_type" and (quote := quote_it(err["input"])):
                if loc[-1:] == ("[key]",):  # a name (a channel's, a user's) read as a number
                    loc, quote = loc[:-2], f"a name {quote}"
                message = quote
            if named and not loc and message.endswith("is not defined under channels"):
                continue  # the model's own check, already reported at its line above
            problem(loc, message)
    if config is not None and checks is not None and config.web.enabled:
        refused = checks.web(config.web)  # it names web.listen itself
        if refused is not None:
            problems.append(ConfigError(refused, path=shown,
                                        line=_line_for(lines, ("web", "listen"))))
        unusable = checks.web_path(config.web)
        if unusable is not None:
            problem(("web", "public_url"), unusable)
    if config is not None and (clash := _listen_clash(config)) is not None:
        problem(("metrics", "listen"), clash)
    if problems or config is None:
        raise ConfigError.combine(problems)
    for written, expanded in referenced:
        name = ENV_REF.search(written)
        if name is not None:
            config._url_sources[expanded] = name.group(1)
    config._notes = tuple(str(ConfigError(f"{dotted(loc)}: {message}", path=shown,
                                          line=_line_for(lines, loc)))
                          for loc, message in interval_notes(data))
    return config
