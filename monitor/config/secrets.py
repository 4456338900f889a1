"""Secrets in the configuration: ``${VAR}`` references expanded from the environment and
the untracked ``secrets_file``, and the refusal (F9) of secrets written into a file other
users can read."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.errors import ConfigError
from monitor.text import first_surrogate
from monitor.yamldoc import not_utf8

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a variable's name, as ${VAR} can name it
ENV_REF = re.compile(rf"\$\{{({_NAME.pattern})\}}")  # ${VAR} in a setting


def utf8_values(environ: Mapping[str, str]) -> tuple[dict[str, str], set[str]]:
    """``environ`` without the variables whose values are not UTF-8, and their names.

    A value set from bytes that are not UTF-8 (a Latin-1 shell) comes with lone surrogates,
    which no connection, header or file can encode: referenced, it must be a problem at the
    reference, not a crash where it is used."""
    undecodable = {name for name, value in environ.items() if first_surrogate(value) is not None}
    return {k: v for k, v in environ.items() if k not in undecodable}, undecodable


def expand_env(
    value: Any, environ: Mapping[str, str], loc: tuple[Any, ...], missing: list[tuple[Any, ...]]
) -> Any:
    """``value`` (a setting, or a mapping or list of them) with each ``${VAR}`` replaced from
    ``environ``; the location of each name ``environ`` lacks is appended to ``missing``."""
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                missing.append((*loc, name))
                return ""
            return environ[name]

        return ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: expand_env(v, environ, (*loc, k), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, environ, (*loc, i), missing) for i, v in enumerate(value)]
    return value


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of an untracked secrets file (``#`` comments, optional quotes,
    ``export``). A byte-order mark (Windows editors) is not part of the first name. Raises
    ValueError naming the first line that is not ``NAME=VALUE`` (a value is never quoted
    back: it is a secret)."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.removeprefix("export ").partition("=")
        key = key.strip()
        if not equals or not _NAME.fullmatch(key):
            raise ValueError(f"line {number} is not NAME=VALUE (a name of letters, digits "
                             "and _, then =, then the value)")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


_TOKENISH = re.compile(r"[A-Za-z0-9_\-]{16,}")


def literal_secret(url: str) -> bool:
    """A channel URL written out with a password or a token (not a ``${VAR}`` reference)."""
    if "${" in url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed '[': the tokens are looked for in the text as written
        return bool(_TOKENISH.search(url))
    try:
        password = parts.password
    except ValueError:
        password = None
    return bool(password) or bool(_TOKENISH.search(f"{parts.netloc}{parts.path}{parts.query}"))


def literal_password(url: object) -> bool:
    """A database URL written out with its password (not a ``${VAR}`` reference)."""
    if not isinstance(url, str) or "${" in url:
        return False
    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def secrets_file_values(data: dict[str, Any], base: Path, shown: str,
             lines: Mapping[tuple[Any, ...], int]) -> dict[str, str]:
    """The variables of the ``secrets_file`` setting (popped from ``data``), if any; a
    setting that is not a path, or a file that is missing, unreadable or not ``KEY=VALUE``
    text, is a ConfigError at the setting's line."""
    setting = data.pop("secrets_file", None)
    if setting is None or setting == "":
        return {}
    line = lines.get(("secrets_file",))

    def refuse(message: str) -> ConfigError:
        return ConfigError(f"secrets_file: {message}", path=shown, line=line)

    if not isinstance(setting, str) or not setting.strip():
        raise refuse("expected the path of a KEY=VALUE file")
    secrets_path = base / Path(setting)  # an absolute path replaces base
    try:
        found, regular = secrets_path.exists(), secrets_path.is_file()
    except OSError as exc:  # a folder on the way that this user cannot enter
        raise refuse(f"cannot read {secrets_path}: {exc.strerror or exc}") from exc
    if not found:
        raise refuse(f"{secrets_path} does not exist")
    if not regular:
        raise refuse(f"{secrets_path} is not a file")
    check_private(secrets_path, str(secrets_path), "this secrets file holds secrets")
    try:
        return read_env_file(secrets_path)
    except OSError as exc:
        raise refuse(f"cannot read {secrets_path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise refuse(f"{secrets_path} is not UTF-8 text ({exc.reason} on its line "
                     f"{not_utf8(exc).line})") from exc
    except ValueError as exc:
        raise refuse(f"{secrets_path}: {exc}") from exc


def check_private(path: Path, shown: str, what: str) -> None:
    """Refuse secrets in a file other users can read (F9): the fix is one chmod."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(f"{what}, but the file is readable by other users (mode "
                          f"{mode:04o}); run `chmod 600 {path}` or use ${{VAR}} references",
                          path=shown)
