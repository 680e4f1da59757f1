"""Running the extension's SQL, on its own connections.

The store never touches the application's ``db.session``: reads run outside any
transaction held across the view (one round trip) and all writes of one request
share one short transaction at its end. Database errors become
:exc:`SessionStoreError` in :meth:`.Runner._run`, and nowhere else.
"""

from __future__ import annotations

import time
import typing as t

from . import dberrors
from . import ids
from .clock import minutes_ms
from .engine import CASCADES
from .rows import RemovedSession
from .rows import SaveOutcome
from .rows import SavePlan
from .rows import SessionInfo
from .rows import StoredSession
from .runner import Runner

if t.TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["Store", "removal_params"]


class Store(Runner):
    """The SQL face of one app's sessions: loads, saves, deletes and the
    cleanup, each in as few round trips as the dialect allows."""

    # -- reads -----------------------------------------------------------------

    def load(self, name: str, key: str, *, by_old_key: bool = True) -> StoredSession | None:
        """Load the session whose current key is ``key`` (one SELECT), else,
        if ``by_old_key``, the one that was rotated away from it (a second
        SELECT)."""
        sql = self.sql
        params = {"key": key}

        def read(conn: Connection) -> StoredSession | None:
            rows = conn.execute(sql.load, params).all()
            if rows:
                row_id, created, touched, expires_at, expires_min, user_key = rows[0][:6]
                return StoredSession(
                    row_id=row_id,
                    key=key,
                    by_old_key=False,
                    old_key_until=None,
                    successor=None,
                    created_at=created,
                    touched_at=touched,
                    expires_at=expires_at,
                    expires_min=expires_min,
                    values={row[6]: row[7] for row in rows if row[6] is not None},
                    user_key=user_key,
                )
            if not by_old_key:
                return None
            rotated = conn.execute(sql.load_rotated, params).all()
            if not rotated:
                return None
            found = StoredSession.from_row(rotated[0], by_old_key=True)
            found.values = {
                row.name: row.value
                for row in rotated
                if row.name is not None and row.row_id == found.row_id
            }
            return found

        return self._read(f"loading session {name!r}", read)

    def count_expired(self, now: int) -> int:
        stmt = self.sql.count_expired()
        return int(
            self._read(
                "counting expired sessions",
                lambda c: c.execute(stmt, {"now": now}).scalar_one(),
                create=False,
            )
        )

    def stats(self, now: int) -> list[dict[str, t.Any]]:
        """Per session name: live and expired sessions, variables, oldest creation."""
        stmt = self.sql.stats()
        rows = self._read(
            "reading session statistics",
            lambda c: c.execute(stmt, {"now": now}).all(),
            create=False,
        )
        return [
            {
                "name": r.name,
                "live": int(r.live or 0),
                "expired": int(r.total) - int(r.live or 0),
                "variables": int(r.variables or 0),
                "oldest": r.oldest,
            }
            for r in rows
        ]

    def user_sessions(
        self, user: str, name: str | None, now: int, absolute: float | None
    ) -> list[SessionInfo]:
        """The live sessions bound to ``user`` (named ``name``), most recently
        seen first, under the ``absolute`` timeout (minutes): one SELECT, by
        the ``user_key`` index."""
        absolute_ms = None if absolute is None else minutes_ms(absolute)
        stmt = self.user_sql.listing(name is not None, absolute_ms is not None)
        params: dict[str, t.Any] = {"user": user, "now": now}
        if name is not None:
            params["name"] = name
        if absolute_ms is not None:
            params["born_after"] = now - absolute_ms
        rows = self._read("listing the sessions of a user", lambda c: c.execute(stmt, params).all())
        return [SessionInfo.from_row(row, absolute_ms=absolute_ms) for row in rows]

    # -- writes ----------------------------------------------------------------

    def save(self, plans: list[SavePlan]) -> dict[str, SaveOutcome]:
        """Write every plan in one transaction; all or nothing.

        Rows are locked in one order (sessions by ``row_id``, variables by
        name), and a save that still meets a deadlock, a conflict, a session
        deleted under it or a dropped connection is run again from the
        start: a plan run twice ends as if run once, so a save whose
        ``COMMIT`` went through unseen may run again.
        """
        operation = "saving session " + ", ".join(repr(p.name) for p in plans)
        single = len(plans) == 1 and plans[0].is_one_statement()
        ordered = sorted(plans, key=lambda plan: plan.row_id)

        def attempt() -> dict[str, SaveOutcome]:
            engine = self._split()[0 if single else 1]
            with self._begin(engine, operation) as conn:
                return {plan.name: self._save_one(conn, plan) for plan in ordered}

        return self._run(operation, attempt, dberrors.conflict)

    def _save_one(self, conn: Connection, plan: SavePlan) -> SaveOutcome:
        sql = self.sql
        row_id = plan.row_id
        # every write below applies only while this key opens the row
        guard = {"guard": plan.guard_key, "now": plan.now}
        if plan.replaces_row is not None:
            self._delete_expired(conn, plan)
        if plan.create is not None:
            result = conn.execute(sql.create(), plan.create)
            if not sql.inserted(result):
                # The same explicit ID was created by a request running beside
                # this one (or by this save, before its connection dropped):
                # join that session instead of failing.
                joined = conn.execute(sql.row_by_key(), {"key": plan.create["key"]}).scalar()
                if joined is None:
                    return SaveOutcome(gone=True)
                row_id = joined
        outcome = SaveOutcome()
        if plan.update is not None:
            clears = plan.clear_seal_by is not None
            params = {f"new_{k}": value for k, value in plan.update.items()}
            params.update(guard, row_id_=row_id, seal_by_=plan.clear_seal_by)
            stmt = sql.update(tuple(plan.update), plan.rotation, clears)
            if conn.execute(stmt, params).rowcount == 0:
                row = None
                if "key" in plan.update:
                    row = conn.execute(sql.current(), {"row_id": row_id}).first()
                if row is not None and row.key == plan.update["key"]:
                    # Only this request knows its new key: this save wrote it
                    # before its connection dropped.
                    guard["guard"] = row.key
                else:
                    new_id = self._successor(row, plan, row_id) if plan.rotation else None
                    if new_id is None:
                        return SaveOutcome(gone=True)
                    outcome = SaveOutcome(new_id=new_id)
                    guard["guard"] = ids.lookup_key(plan.name, new_id)
            elif "key" in plan.update:
                guard["guard"] = plan.update["key"]
        if plan.upserts and plan.create is not None and row_id == plan.row_id:
            # The session row was written just before, in this transaction:
            # no guard, and all variables in one multi-row INSERT.
            params = {"row_id": row_id}
            for i, (var, text) in enumerate(plan.upserts.items()):
                params[f"name{i}"] = var
                params[f"value{i}"] = text
            conn.execute(sql.insert_rows(len(plan.upserts)), params)
        elif plan.upserts:
            conn.execute(
                sql.upsert(),
                [
                    {"row_id": row_id, "name": k, "value": val, **guard}
                    for k, val in plan.upserts.items()
                ],
            )
        if plan.removals:
            conn.execute(sql.removals(), {"row_id": row_id, "names": plan.removals, **guard})
        return outcome

    def create_sessions(self, plans: list[SavePlan]) -> int:
        """Create the sessions of ``plans`` with their variables, in one
        transaction, leaving alone any whose ID exists already; return how
        many were created (an import)."""
        sql = self.sql

        def create(conn: Connection) -> int:
            created = 0
            for plan in plans:
                if not sql.inserted(conn.execute(sql.create(), plan.create)):
                    continue
                created += 1
                params = {"row_id": plan.row_id}
                for i, (var, text) in enumerate(plan.upserts.items()):
                    params[f"name{i}"] = var
                    params[f"value{i}"] = text
                conn.execute(sql.insert_rows(len(plan.upserts)), params)
            return created

        return self._in_transaction("importing sessions", create)

    def _successor(self, row: t.Any, plan: SavePlan, row_id: str) -> str | None:
        """The ID another request's rotation gave session ``row_id`` (now
        ``row``) while this one rotated it too, if this request's old ID
        opens it; else ``None`` (the session was regenerated, ended, or
        rotated twice since), and the request writes nothing to it."""
        if row is None or plan.rotated_from is None:
            return None
        opened = ids.open_successor(plan.name, row_id, plan.rotated_from, row.successor or "")
        if opened is None or ids.lookup_key(plan.name, opened) != row.key:
            return None
        return opened

    def _cascades(self, conn: Connection) -> bool:
        """Does deleting a session on ``conn`` take its variables along? Yes,
        by the foreign key, except on an SQLite connection that the extension
        did not open itself: those may run with foreign keys off."""
        return not self.sql.sqlite or bool(conn.info.get(CASCADES))

    def _delete_expired(self, conn: Connection, plan: SavePlan) -> None:
        """Delete the expired session a new one replaces, unless a request
        that still saw it live touched it meanwhile."""
        sql = self.sql
        params = {
            "row_id": plan.replaces_row,
            "expired_by": plan.expired_by,
            "born_by": plan.born_by,
        }
        conn.execute(sql.delete_if_expired(plan.born_by is not None), params)
        if not self._cascades(conn):
            conn.execute(sql.delete_variables(orphans_only=True), params)

    def delete(
        self, name: str, row_id: str, keys: t.Sequence[str] = (), *, guard: str | None = None
    ) -> None:
        """Delete one session now (``session_end``); with ``guard``, only while
        that key still opens it, so that a request from before a
        ``regenerate_id`` (a login) cannot end the session it became. ``keys``
        are the lookup keys that open it, for a cache in front of the tables."""
        sql = self.sql
        params = {"row_id": row_id} if guard is None else {"row_id": row_id, "guard": guard}

        def delete(conn: Connection) -> None:
            conn.execute(sql.delete_session(guard is not None), params)
            if not self._cascades(conn):
                conn.execute(sql.delete_variables(orphans_only=True), params)

        self._in_transaction(f"ending session {name!r}", delete, dberrors.idempotent)

    def end_user_sessions(
        self,
        user: str,
        *,
        name: str | None = None,
        handle: str | None = None,
        keep: t.Collection[str] = (),
        now: int,
        absolute: float | None,
    ) -> list[RemovedSession]:
        """Delete the sessions bound to ``user`` (named ``name``; only the one
        ``handle``; none in ``keep``), expired ones too, in one DELETE where
        the database returns what it deleted, and return what was removed.
        A save still in flight for one of them then writes nothing: its
        writes need the row."""
        sql = self.user_sql
        born_after = None if absolute is None else now - minutes_ms(absolute)
        params = removal_params(user, name, handle, keep)

        def remove(conn: Connection, returning: bool) -> list[RemovedSession]:
            stmt = sql.removal(name is not None, handle is not None, bool(keep), returning)
            rows = conn.execute(stmt, params).all()
            row_ids = {"row_ids": [row.row_id for row in rows]}
            if rows and not returning:
                conn.execute(sql.delete_rows(), row_ids)
            if rows and not self._cascades(conn):
                conn.execute(sql.delete_variables(), row_ids)
            return [
                RemovedSession(
                    row_id=row.row_id,
                    key=row.key,
                    old_key=row.old_key,
                    live=row.expires_at > now
                    and (born_after is None or row.created_at > born_after),
                )
                for row in rows
            ]

        def attempt() -> list[RemovedSession]:
            engines = self._split()
            returning = engines[1].dialect.delete_returning
            # One DELETE ... RETURNING is atomic without a transaction of its
            # own (on an autocommit engine, one round trip); selecting and
            # then deleting needs one.
            with self._begin(engines[0 if returning else 1], operation) as conn:
                return remove(conn, returning)

        # Not after a dropped connection: a COMMIT that went through unseen
        # would leave nothing to report the second time.
        operation = "ending the sessions of a user"
        return self._run(operation, attempt, dberrors.transient)

    def expired_batches(self, now: int, batch_size: int, pause: float = 0.0) -> t.Iterator[int]:
        """Delete expired sessions batch by batch, yielding each batch's count,
        ``pause`` seconds apart.

        Each batch is one DELETE that picks the oldest expired rows and checks
        their expiry again as it deletes them, so a session touched meanwhile
        survives; variables go with their session (foreign key cascade).
        """
        sql = self.sql
        params = {"now": now, "n": batch_size}

        def batch(conn: Connection) -> int:
            count = int(conn.execute(sql.expired_batch(), params).rowcount)
            if count and sql.sqlite:
                self._delete_orphans(conn)
            return count

        while True:
            count = self._in_transaction("deleting expired sessions", batch, dberrors.idempotent)
            if count:
                yield count
            if count < batch_size:
                return
            if pause:
                time.sleep(pause)

    def hold_lease(self, name: str, holder: str, now: int, until: int) -> bool:
        """Take lease ``name`` for ``holder`` until ``until``, or keep it that
        long if ``holder`` has it: did it? (See :mod:`.leases`.)"""
        sql = self.lease_sql
        return self._in_transaction(
            f"taking the {name} lease",
            lambda conn: sql.hold(conn, name, holder, now, until),
            dberrors.idempotent,
            create=False,
        )

    def release_lease(self, name: str, holder: str) -> None:
        """Give lease ``name`` back, if ``holder`` still holds it."""
        sql = self.lease_sql
        self._in_transaction(
            f"giving back the {name} lease",
            lambda conn: sql.release(conn, name, holder),
            dberrors.idempotent,
            create=False,
        )

    def _delete_orphans(self, conn: Connection) -> None:
        """Variables left by a cascade that SQLite skipped (an application's
        engine may run with foreign keys off)."""
        if self._cascades(conn) or conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
            return
        conn.execute(self.sql.delete_orphans())


def removal_params(
    user: str, name: str | None, handle: str | None, keep: t.Collection[str]
) -> dict[str, t.Any]:
    """The parameters of the statements that end a user's sessions."""
    params: dict[str, t.Any] = {"user": user}
    if name is not None:
        params["name"] = name
    if handle is not None:
        params["handle"] = handle
    if keep:
        params["keep"] = list(keep)
    return params
