"""``monitor web``: the web view alone, its API tokens and password hashes."""

from __future__ import annotations

import getpass
import json
import signal
import sys
import threading
from typing import Annotated

import typer

from monitor.cli.app import app, fail, get_config, group
from monitor.cli.service import open_store, web_server
from monitor.errors import MonitorError
from monitor.text import one_line

WEB_HELP = """The web view: serve it alone, API tokens, password hashes.

Without a command, monitor web serves the web view and API alone, until SIGTERM or Ctrl-C,
beside daemons that run elsewhere on the database (monitor run --no-web). It listens on
web.listen (default 127.0.0.1:8080; port 0: any free port, printed at start); a non-loopback
address needs web.users or web.trusted_proxy_header.
"""
web_app = group(WEB_HELP, invoke_without_command=True, subcommand_metavar="[COMMAND [ARGS]...]")
token_app = group("API tokens for /api/v1 (stored hashed).", no_args_is_help=True)
web_app.add_typer(token_app, name="token")
app.add_typer(web_app, name="web")


@web_app.callback(invoke_without_command=True)
def web(ctx: typer.Context) -> None:
    """Serve the web view alone (see WEB_HELP, which the help shows)."""
    if ctx.invoked_subcommand is not None:
        return
    config = get_config(ctx)
    store = open_store(config)
    server = web_server(config, store)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda _sig, _frame: stop.set())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            server.start()  # returns once it listens: the URL then has the bound port
        except MonitorError as exc:
            fail(f"{exc} (is another process using web.listen {config.web.listen}?)", code=1)
        typer.echo(f"web view: {server.url}")
        sys.stdout.flush()
        stop.wait()
    finally:
        server.stop()
        store.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@token_app.command("create")
def token_create(ctx: typer.Context, name: Annotated[str, typer.Argument(
        help="A name for the token (who or what uses it).")]) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    from monitor.store import Access
    name = _checked_name(name, "an API token", MAX_TOKEN_NAME_CHARS)
    store = open_store(get_config(ctx))
    try:
        token = Access(store).create_token(name)
    except MonitorError as exc:
        fail(str(exc))
    finally:
        store.close()
    typer.echo(token)


@token_app.command("list")
def token_list(ctx: typer.Context) -> None:
    """List API tokens by name, with when each was made and last used."""
    from monitor.store import Access
    store = open_store(get_config(ctx))
    tokens = Access(store).tokens()
    store.close()
    if not tokens:
        typer.echo("no API tokens")
    for t in tokens:
        used = t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never"
        typer.echo(f"{t.name}\tcreated {t.created_at:%Y-%m-%d %H:%M}\tlast used {used}")


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(
        help="The token's name.")]) -> None:
    """Revoke (delete) an API token."""
    from monitor.store import Access
    name = _checked_name(name, "an API token", MAX_TOKEN_NAME_CHARS)
    store = open_store(get_config(ctx))
    gone = Access(store).revoke_token(name)
    store.close()
    if not gone:
        fail(f"no API token named {name!r}", code=1)
    typer.echo(f"revoked {name}")


@web_app.command("renew-feed-tokens")
def renew_tokens(ctx: typer.Context) -> None:
    """New ?token= for each feed of hits (old feed URLs stop).

    For a feed URL that leaked. Feed readers then need the new URLs, shown on the rules
    page. API tokens and sessions are not touched.
    """
    from monitor.store import Access
    from monitor.web import renew_feed_tokens
    store = open_store(get_config(ctx))
    try:
        renew_feed_tokens(Access(store))
    finally:
        store.close()
    typer.echo("feed tokens renewed: the feed URLs given out so far no longer work; the "
               "rules page shows the new ones")


@web_app.command("passwd")
def passwd(name: Annotated[str, typer.Argument(help="The user name.")]) -> None:
    """Print an argon2 hash of a password, for web.users.

    The password is read from the terminal, or from standard input.
    """
    from monitor.web import hash_password
    name = _checked_name(name, "a user", None)
    password = getpass.getpass("password: ") if typer.get_text_stream("stdin").isatty() else (
        typer.get_text_stream("stdin").readline().rstrip("\n"))
    if not password:
        fail("empty password")
    # JSON strings are YAML: a name with ': ', '#' or quotes stays one key.
    key = json.dumps(name, ensure_ascii=False) if _needs_quotes(name) else name
    typer.echo(f"web:\n  users:\n    {key}: '{hash_password(password)}'")


MAX_TOKEN_NAME_CHARS = 128  # the api_tokens.name column


def _checked_name(name: str, what: str, limit: int | None) -> str:
    """``name`` if it is one a listing can show and a form can send: some text on one line,
    without control characters or bytes that are not UTF-8 (a Latin-1 terminal's), at most
    ``limit`` characters; else one line and exit 2."""
    if not name.strip():
        fail(f"{what} needs a name")
    if not one_line(name):  # what web.users accepts too
        fail(f"{what}'s name {name!r} has a line break, a control character or bytes that "
             "are not UTF-8")
    if limit is not None and len(name) > limit:
        fail(f"{what}'s name has {len(name)} characters; at most {limit}")
    return name


def _needs_quotes(name: str) -> bool:
    """Whether ``name`` is not a plain YAML key that reads back as itself."""
    from monitor.yamldoc import read_yaml
    try:
        return bool(read_yaml(f"{name}: x\n").data() != {name: "x"})
    except MonitorError:
        return True
