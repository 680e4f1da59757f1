"""The ``flask namedsessions`` command group.

The extension hands the group its per-app state accessor when it registers
it, so commands reach the app they run for without importing the extension.
"""

from __future__ import annotations

import datetime
import sys
import typing as t

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from . import ids
from .binding import user_key
from .cleanup import Cleanup
from .exceptions import NamedSessionsError
from .flask_session_import import import_sessions

if t.TYPE_CHECKING:
    from .clock import Clock
    from .config import Settings
    from .rows import SessionInfo
    from .store import Store

__all__ = ["command_group"]


class _AppState(t.Protocol):
    """What the commands need of the extension's per-app state."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> Clock: ...


def _fail(exc: NamedSessionsError) -> click.ClickException:
    return click.ClickException(str(exc))


def _flask_session_engine(store: Store) -> sa.Engine:
    """Where Flask-Session's table is: the app's Flask-SQLAlchemy engine (of
    ``SESSION_SQLALCHEMY_BIND_KEY``), else the sessions' own database."""
    db = current_app.extensions.get("sqlalchemy")
    if db is not None:
        return t.cast(sa.Engine, db.engines[current_app.config.get("SESSION_SQLALCHEMY_BIND_KEY")])
    return store.engine


def _user(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return user_key(value, "invalid user key")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not ids.is_valid_name(value):
        raise click.BadParameter("use 1 to 64 characters from A-Z a-z 0-9 _ . -")
    return value


def _time(value: datetime.datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}"


def _listing(sessions: list[SessionInfo]) -> list[str]:
    """A table of sessions, with the device columns only if any was recorded."""
    devices = any(s.user_agent is not None or s.ip is not None for s in sessions)
    head = f"{'name':<24} {'created (UTC)':<19}  {'last seen (UTC)':<19}  {'expires (UTC)':<19}"
    lines = [head + (f"  {'address':<39}  user agent" if devices else "")]
    for s in sessions:
        line = f"{s.name:<24} {_time(s.created_at)}  {_time(s.last_seen)}  {_time(s.expires_at)}"
        if devices:
            line += f"  {s.ip or '-':<39}  {s.user_agent or '-'}"
        lines.append(line)
    return [line.rstrip() for line in lines]


def command_group(get_state: t.Callable[[], _AppState]) -> click.Group:
    """The ``namedsessions`` group, whose commands find the app's state with
    ``get_state`` (inside the app context)."""

    @click.group("namedsessions")
    def cli() -> None:
        """Manage flask-namedsessions' stored sessions."""

    @cli.command("delete-expired")
    @click.option(
        "--batch-size",
        type=click.IntRange(min=1),
        default=None,
        help="Sessions deleted per transaction (default: NAMEDSESSIONS_GC_BATCH_SIZE).",
    )
    @click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
    @with_appcontext
    def delete_expired(batch_size: int | None, dry_run: bool) -> None:
        """Delete expired sessions and their variables, in batches."""
        state = get_state()
        now = state.clock()
        batch_size = batch_size or state.settings.gc_batch_size
        try:
            total = state.store.count_expired(now)
            if dry_run:
                click.echo(f"Would delete {total} expired sessions.")
                return
            deleted = 0
            with Cleanup(state.store, state.clock, batch_size, state.settings.cleanup_pause) as run:
                if not run.held:
                    click.echo("Another cleanup is running; skipped.")
                    return
                if sys.stdout.isatty():
                    with click.progressbar(length=total, label="Deleting expired sessions") as bar:
                        for count in run.batches():
                            deleted += count
                            bar.update(count)
                else:
                    deleted = sum(run.batches())
        except NamedSessionsError as exc:
            raise _fail(exc) from None
        click.echo(f"Deleted {deleted} expired sessions.")

    @cli.command("stats")
    @with_appcontext
    def stats() -> None:
        """Show sessions per name: live, expired, variables stored, oldest."""
        state = get_state()
        try:
            rows = state.store.stats(state.clock())
        except NamedSessionsError as exc:
            raise _fail(exc) from None
        if not rows:
            click.echo("No sessions stored.")
            return
        click.echo(f"{'name':<24} {'live':>8} {'expired':>8} {'variables':>10}  oldest")
        for row in rows:
            oldest = datetime.datetime.fromtimestamp(row["oldest"] / 1000, datetime.timezone.utc)
            click.echo(
                f"{row['name']:<24} {row['live']:>8} {row['expired']:>8}"
                f" {row['variables']:>10}  {oldest:%Y-%m-%d %H:%M:%S} UTC"
            )

    @cli.command("import-flask-session")
    @click.option("--table", default="sessions", show_default=True, help="Flask-Session's table.")
    @click.option(
        "--key-prefix",
        default="session:",
        show_default=True,
        help="Flask-Session's SESSION_KEY_PREFIX.",
    )
    @click.option("--dry-run", is_flag=True, help="Only count what would be imported.")
    @with_appcontext
    def import_flask_session(table: str, key_prefix: str, dry_run: bool) -> None:
        """Copy Flask-Session's live SQLAlchemy sessions into flask.session's
        named session, under the same IDs."""
        state = get_state()
        settings = state.settings
        if settings.flask_session is None:
            raise click.ClickException(
                "set NAMEDSESSIONS_FLASK_SESSION to the session that serves flask.session first"
            )
        try:
            found = import_sessions(
                state.store,
                _flask_session_engine(state.store),
                settings,
                current_app.permanent_session_lifetime.total_seconds() / 60,
                state.clock(),
                table=table,
                key_prefix=key_prefix,
                dry_run=dry_run,
            )
        except NamedSessionsError as exc:
            raise _fail(exc) from None
        except sa.exc.SQLAlchemyError as exc:
            reason = str(exc).splitlines()[0]
            raise click.ClickException(f"reading table {table!r} failed: {reason}") from None
        for row_id, reason in found.skipped:
            click.echo(f"Skipped row {row_id}: {reason}.")
        click.echo(
            f"Skipped {found.expired} expired, {len(found.skipped)} unreadable and"
            f" {found.present} already present."
        )
        verb = "Would import" if dry_run else "Imported"
        click.echo(f"{verb} {found.imported} sessions.")

    @cli.command("user-sessions")
    @click.argument("user", callback=_user)
    @click.option("--name", callback=_name, help="Only the sessions of this name.")
    @with_appcontext
    def user_sessions(user: str, name: str | None) -> None:
        """List the live sessions of USER, most recently seen first."""
        state = get_state()
        try:
            found = state.store.user_sessions(
                user, name, state.clock(), state.settings.absolute_timeout
            )
        except NamedSessionsError as exc:
            raise _fail(exc) from None
        if not found:
            click.echo(f"No live sessions of user {user!r}.")
            return
        for line in _listing(found):
            click.echo(line)

    @cli.command("end-user-sessions")
    @click.argument("user", callback=_user)
    @click.option("--name", callback=_name, help="Only the sessions of this name.")
    @with_appcontext
    def end_user_sessions(user: str, name: str | None) -> None:
        """End every session of USER: log them out everywhere."""
        state = get_state()
        cache = getattr(state.store, "cache", None)
        missed = 0 if cache is None else cache.missed_writes
        try:
            removed = state.store.end_user_sessions(
                user, name=name, now=state.clock(), absolute=state.settings.absolute_timeout
            )
        except NamedSessionsError as exc:
            raise _fail(exc) from None
        click.echo(f"Ended {sum(r.live for r in removed)} sessions.")
        if cache is not None and cache.missed_writes > missed:
            # This process ends now: nothing of it removes the entries later.
            raise click.ClickException(
                "the session cache could not be told: the app may serve those"
                " sessions from it for up to NAMEDSESSIONS_CACHE_TTL"
                f" ({state.settings.cache_ttl:g} s); flush the cache to stop that sooner"
            )

    @cli.command("create-tables")
    @with_appcontext
    def create_tables() -> None:
        """Create the session tables if they do not exist, and the columns
        that tables of an earlier version lack."""
        try:
            get_state().store.create_tables()
        except NamedSessionsError as exc:
            raise _fail(exc) from None
        click.echo("Session tables are ready.")

    return cli
