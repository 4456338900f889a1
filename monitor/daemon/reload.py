"""Reloading while the daemon runs: the rules when their files change, monitor.yaml when it
changes, and both on SIGHUP (``systemctl reload newsmonitor``).

Every stage was built from the configuration read at start, so of an edit to monitor.yaml
only the feed list (``feeds``, and ``polling.default_interval`` through it) takes effect at
once: the poller reads the feeds table, which the reload brings in line with the file as a
start does. Any other changed setting is logged by name as waiting for a restart, never
half-applied. A file that does not load is reported as at start (``path:line: message``, in
the log and to the admin channel) and changes nothing. Reloads run one at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watchfiles import watch

from monitor.config import Config
from monitor.errors import ConfigError, StoreError
from monitor.models import FeedSource

if TYPE_CHECKING:
    from monitor.daemon.service import Service

log = logging.getLogger(__name__)

DEBOUNCE_MS = 500  # an editor's save is often several writes (or a write and a rename)
RESCAN_SECONDS = 1.0  # how often a quiet rules watch checks its folder is still the one there
# Settings of monitor.yaml that a reload applies; every other one waits for a restart.
LIVE_SETTINGS = frozenset({"feeds", "polling.default_interval"})


@dataclass(frozen=True)
class FeedChanges:
    """How a reloaded feed list differs from the one in force, by URL."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # name, interval, tags or language

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def summary(self) -> str:
        if not self:
            return "unchanged"
        return (f"{len(self.added)} added, {len(self.removed)} removed, "
                f"{len(self.changed)} changed")


def feed_changes(running: list[FeedSource], loaded: list[FeedSource]) -> FeedChanges:
    """What applying ``loaded`` changes in the ``running`` feed list."""
    old, new = {f.url: f for f in running}, {f.url: f for f in loaded}
    return FeedChanges(added=tuple(u for u in new if u not in old),
                       removed=tuple(u for u in old if u not in new),
                       changed=tuple(u for u, f in new.items() if u in old and old[u] != f))


def restart_settings(running: Config, loaded: Config) -> list[str]:
    """The settings that differ between the two and only a restart applies, as dotted names
    (``polling.tick``, ``channels.slack``: a channel's name, never its URL)."""
    return [name for name in _differences(running.model_dump(), loaded.model_dump(), "")
            if name not in LIVE_SETTINGS]


def _differences(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str) -> Iterator[str]:
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        name = f"{prefix}{key}"
        # Sections are compared setting by setting, and channels by name.
        if isinstance(a, dict) and isinstance(b, dict) and prefix.count(".") < 1:
            yield from _differences(a, b, f"{name}.")
        else:
            yield name


def _identity(path: Path) -> tuple[int, int] | None:
    """The file or folder ``path`` names now (symbolic links followed), or None if none."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


class Reloader:
    """The daemon's reloads; ``load_config`` reads monitor.yaml again (None: the daemon runs
    on the embedded defaults, so there is no file to reload)."""

    def __init__(self, service: Service, load_config: Callable[[], Config] | None = None,
                 config_path: Path | None = None) -> None:
        self.service = service
        self._load_config = load_config
        self.config_path = config_path
        self._lock = threading.Lock()
        self._feeds = service.config.feed_sources()  # the feed list in force
        # Settings of the file as last loaded that only a restart applies (monitor status).
        self.restart_pending: tuple[str, ...] = ()
        self._rules_loaded_from = _identity(service.rules.path)  # the folder of the rules

    def reload_all(self) -> None:
        """SIGHUP: the rules, then monitor.yaml."""
        log.info("reload requested: rules and configuration")
        self.reload_rules()
        self.reload_config()

    def reload_rules(self) -> None:
        """Load the rule files again; a broken edit keeps the last good rules."""
        service, metrics = self.service, self.service.metrics
        with self._lock:
            try:
                problems = service.rules.reload()
                service.rules_reloaded(problems)
            except Exception:
                log.exception("rule reload failed; the last good rules stay active")
                metrics.reloads.labels(result="failed").inc()
                return
            metrics.reloads.labels(result="failed" if problems else "ok").inc()
            book = service.rules.book()
            metrics.rules_loaded.set(len(book.rules) if book else 0)

    def reload_config(self) -> FeedChanges | None:
        """Read monitor.yaml again and apply its feed list; None if it did not load (or
        there is no file)."""
        if self._load_config is None:
            return None
        service, result = self.service, self.service.metrics.config_reloads
        with self._lock:
            try:
                loaded = self._load_config()
            except ConfigError as exc:
                for problem in exc.problems:
                    log.error("%s", problem)
                log.error("configuration not reloaded: the running one stays in force")
                service.config_problems(exc.problems)
                result.labels(result="failed").inc()
                return None
            sources = loaded.feed_sources()
            changes = feed_changes(self._feeds, sources)
            if changes:
                try:
                    service.store.sync_feeds(sources)
                except StoreError as exc:
                    log.error("configuration not reloaded: cannot update the feed list (%s); "
                              "the next change or SIGHUP tries again", exc)
                    result.labels(result="failed").inc()
                    return None
                self._feeds = sources
            result.labels(result="ok").inc()
            log.info("configuration reloaded: feeds %s", changes.summary())
            for note in loaded.notes:  # valid, but rarely what was meant
                log.warning("%s", note)
            waiting = restart_settings(service.config, loaded)
            if waiting:  # said at every reload until the restart
                log.warning("configuration: %s changed; in force after a restart",
                            ", ".join(waiting))
            self.restart_pending = tuple(waiting)
            return changes

    def watch_rules(self) -> None:
        """Reload the rules whenever a rule file changes, until the service stops.

        The watch follows the folder at ``rules_dir``, not the one it first found: a deploy
        that renames a new folder over it, removes it and copies another in, or swaps a
        symbolic link, leaves the old watch on a folder nobody edits any more. So each
        batch (and each quiet second) first checks that the folder is still the one watched;
        if not, the watch starts again on the new one and the rules are reloaded from it.
        """
        path, stop = self.service.rules.path, self.service.stop
        # A folder that was replaced or missing (since the rules were loaded): load it anew.
        reload_when_watching = _identity(path) != self._rules_loaded_from
        missing_told = False
        while not stop.is_set():
            watched = _identity(path)
            if watched is None:  # the rules in force stay until the folder is back
                if not missing_told:
                    log.warning("rules folder %s does not exist; the rules in force stay, "
                                "and it is loaded once it appears", path)
                    missing_told = True
                reload_when_watching = True
                stop.wait(RESCAN_SECONDS)
                continue
            missing_told = False
            try:
                reload_when_watching = self._watch_rules_folder(path, watched,
                                                                reload_when_watching)
            except FileNotFoundError:  # gone again before the watch started
                reload_when_watching = True

    def _watch_rules_folder(self, path: Path, watched: tuple[int, int], reload_first: bool
                            ) -> bool:
        """Watch the folder ``watched`` is, until it is no longer at ``path`` (returns True:
        load the new one) or the service stops."""
        for changes in watch(path, stop_event=self.service.stop, debounce=DEBOUNCE_MS,
                             raise_interrupt=False, yield_on_timeout=True,
                             rust_timeout=int(RESCAN_SECONDS * 1000)):
            if _identity(path) != watched:
                log.info("rules folder %s was replaced; watching the new one", path)
                return True
            # The first yield (a change or a quiet second) comes once the watch is on, so
            # nothing written after this reload goes unseen.
            if reload_first or any(p.endswith((".yaml", ".yml")) for _, p in changes):
                if changes:
                    log.info("rule files changed; reloading")
                reload_first = False
                self.reload_rules()
        return False

    def watch_config(self) -> None:
        """Reload monitor.yaml whenever it changes, until the service stops. Its folder is
        watched (editors save by writing a new file and renaming it over the old one) and the
        file too (a file bind-mounted into a container, written in place on the host, changes
        without an event in the container's folder)."""
        path = self.config_path
        if self._load_config is None or path is None:
            return
        name = path.name
        for _changes in watch(path.parent, path, stop_event=self.service.stop,
                              debounce=DEBOUNCE_MS, raise_interrupt=False, recursive=False,
                              watch_filter=lambda _change, changed: Path(changed).name == name):
            log.info("%s changed; reloading it", path)
            try:
                self.reload_config()
            except Exception:  # a bug: the watcher lives on, and so does the daemon
                log.exception("configuration reload failed; the running one stays in force")

    def serve_requests(self, requested: threading.Event) -> None:
        """Run :meth:`reload_all` each time ``requested`` is set (SIGHUP), until the service
        stops (whoever stops it sets ``requested`` too, to wake this up)."""
        stop = self.service.stop
        while True:
            requested.wait()
            requested.clear()
            if stop.is_set():
                return
            try:
                self.reload_all()
            except Exception:
                log.exception("reload failed; the running configuration stays in force")
