"""The store: durable inbox, outbox, dead letters and care configuration.

:class:`Store` holds everything both backends share; :class:`~.sqlite.SQLiteStore`
(the embedded default) and :class:`~.postgres.PostgresStore` (production) only
say how to connect, begin a transaction and tell a broken database from a bad
statement.

One writer thread owns the write connection. Callers hand it work through a
queue; it takes everything that is waiting (never waiting for more) and
commits it in one transaction, so a burst shares one fsync while a lone alarm
is written at once. A job that fails is rolled back alone (SQLite guards
each job with a savepoint; PostgreSQL, where a savepoint is a round trip,
runs the batch unguarded and only after a failure runs it again guarded),
while a fault of the database itself (disk full, read-only, connection lost)
fails the whole batch, so nothing in it is acknowledged. Reads use a
connection per thread.

The SQL is one dialect for both backends: ``?`` placeholders, standard
``ON CONFLICT``/``RETURNING``, and the two SQLite functions Navet uses
(``json_extract`` with a ``$.a.b`` path and ``instr``), which the PostgreSQL
schema defines with the same meaning. Plugins and core modules that reach the
connection through :meth:`Store.read`/:meth:`Store.write` write that dialect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from gateway.errors import StoreUnavailableError

from ..adapters import RawFrame
from ..model import ALARM_TYPES, EventAdapter, EventBase
from ..security.pii import PiiCipher
from . import sealed
from .alarms import DDL as ALARMS_DDL
from .alarms import AlarmIndex, Change, project
from .lanes import WriteLanes
from .pgurl import SQLITE_URL, is_postgres, redact, schema_of, with_schema  # noqa: F401  (public here)
from .records import (
    NOT_FANNED_OUT,
    AppendResult,
    OutboxItem,
    RulesHook,
    StoredEvent,
    Subscription,
    iso,
)
from .repos import subscriptions as subscriptions_sql
from .repos.config import config_rows, config_table, upsert_config_row
from .repos.events import EventRepository
from .repos.fhir import FhirStateRepository
from .repos.frames import DeadLetterRepository
from .repos.frames import insert_frame as _insert_frame
from .repos.outbox import OutboxRepository
from .schema import MIGRATIONS
from .version import refuse_newer

log = logging.getLogger(__name__)
T = TypeVar("T")

class Written(Generic[T]):
    """What one write job stored and ruled, handed from the job to its after-commit step."""

    __slots__ = ("changes", "hook", "result", "ruled", "stored", "value")

    def __init__(self, hook: RulesHook | None) -> None:
        self.hook = hook
        self.result = AppendResult((), (), ())  # of the caller's own events
        self.changes: list[Change] = []  # what the job did to the alarm projection
        self.stored: list[StoredEvent] = []  # every new row: the caller's, then derived
        self.ruled: list[StoredEvent] = []  # what the rules saw, in the order they saw it
        self.value: T = None  # type: ignore[assignment]  # what ``produce`` returned


class _Job:
    __slots__ = ("committed", "fn", "future", "loop")

    def __init__(
        self,
        fn: Callable[[Any], Any],
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
        committed: Callable[[Any], Any] | None = None,
    ) -> None:
        self.fn, self.loop, self.future, self.committed = fn, loop, future, committed


class Store:
    """The durable inbox, outbox, dead letters and care configuration.

    Subclasses implement the connection hooks below; everything else is shared.
    """

    kind = "abstract"
    begin_sql = "BEGIN"
    snapshot_sql = "BEGIN"
    savepoint_each_job = True
    """Guard every job with a savepoint (cheap in-process), or run the batch without and,
    only if a job fails, roll back and run it again guarded (where a savepoint costs a
    round trip to a server)."""
    """Starts a read transaction that sees one consistent snapshot (``copy_store``)."""

    def __init__(self, label: str, *, max_batch: int = 512,
                 cipher: PiiCipher | None = None) -> None:
        self.label = label  # names the database in errors and logs; never carries a password
        self.max_batch = max_batch
        self.cipher = cipher
        """Seals subscription settings at rest (:mod:`.sealed`); None: a store that may
        hold no subscription settings (a tool given only a database)."""
        self._jobs: WriteLanes[_Job] = WriteLanes()  # urgent (alarms) first: .lanes
        self._writer: threading.Thread | None = None
        self._write_conn: Any = None
        self.exclusive = True
        self._local = threading.local()
        self._subscriptions: list[Subscription] | None = None
        self.batches = 0
        self.batched_jobs = 0
        self.healthy = True
        self.last_error: str | None = None
        self.commit_listeners: list[Callable[[list[StoredEvent]], None]] = []
        """Called on the writer's thread, in commit order, with the events each append
        committed (those it was given, then what the rules derived from them)."""
        self.rules_hook: RulesHook | None = None
        """The rules, run inside each append's transaction (set by the rules runner while
        it runs); without, events are stored ``ruled = 0`` for :meth:`rule_backlog`."""
        self.rules_depth = 16
        """Rounds of rules deriving from what they derived before one job gives up (a rule
        that answers its own events); what the last round derived is stored, not ruled."""
        self._batch_hooks: list[RulesHook] = []  # hooks a job of this batch used (writer)
        self._job_hooks: list[RulesHook] = []  # ... of the job running now (writer)
        self.alarm_index = AlarmIndex()
        """The open alarms in memory (:mod:`.alarms`), loaded at open, moved forward by the
        writer after each commit."""
        # the repositories that hold the SQL; the methods below delegate to them
        self.events = EventRepository(self)
        self.outbox = OutboxRepository(self)
        self.dead_letter_repo = DeadLetterRepository(self)
        self.fhir_state = FhirStateRepository(self)
        """The FHIR facade's tables, reached by the plugin as
        :class:`gateway.fhir.host.FhirStateStore`."""

    # ------------------------------------------------------------------ backend hooks

    def _connect(self) -> Any:
        """A new connection with ``execute``/``executemany`` in Navet's SQL dialect."""
        raise NotImplementedError

    def connect(self) -> Any:
        """A connection of its own in autocommit mode, in Navet's SQL dialect; the caller
        closes it (tools and tests that look at the database directly)."""
        return self._connect()

    def continue_counters(self, conn: Any) -> None:
        """After rows were copied in with their own keys: make generated keys (event
        ``seq``, dead letter ``id``) continue after the largest one copied."""

    def _connect_writer(self) -> Any:
        """The writer's connection (at open, and again after it broke)."""
        return self._connect()

    def prepare(self) -> None:
        """Before the first connection (create the directory, the schema ...)."""

    def schema_sql(self, migration: str) -> str:
        """``migration`` (from :data:`.schema.MIGRATIONS`) in this backend's DDL."""
        return migration

    def _lock_migrations(self, conn: Any) -> None:
        """Inside the migration transaction: keep other processes out until it commits."""

    def serialise(self, conn: Any, name: str) -> None:
        """Inside a write job: hold ``name`` until the transaction ends, against every
        process writing to this database (the audit chain's appends). SQLite's writer
        transaction (``BEGIN IMMEDIATE``) already excludes every other writer."""

    def _is_fatal(self, err: BaseException) -> bool:
        """True when ``err`` is a fault of the database, not of one job's statement."""
        raise NotImplementedError

    def _begin(self, conn: Any) -> Any:
        """Start the batch's transaction; returns the connection it runs on."""
        conn.execute(self.begin_sql)
        return conn

    def _after_failure(self, conn: Any) -> Any:
        """After a failed batch: the connection to use next (reconnect if it broke)."""
        return conn

    def _close_readers(self) -> None:
        """Close the per-thread reader connections, if the backend can do so safely."""

    # ------------------------------------------------------------------ lifecycle

    def open(self, *, exclusive: bool = True) -> None:
        """Connect, migrate, start the writer. ``exclusive=False`` is for tools beside a
        running gateway (``navet privacy``): they write no events, so they may share
        a database that a gateway writes to."""
        self.exclusive = exclusive
        self.prepare()
        conn = self._connect_writer()
        try:
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        if any(m is ALARMS_DDL for m in MIGRATIONS):  # not a test's store of an older schema
            self.alarm_index.load(conn)
        self._write_conn = conn
        # Subscriptions are read when first asked for: a tool given only a database (store
        # info, copy) has no keys to open their sealed settings, and needs none.
        self._subscriptions = None
        self._writer = threading.Thread(target=self._write_loop, name="navet-store", daemon=True)
        self._writer.start()

    def close(self) -> None:
        if self._writer is not None:
            self._jobs.put(None)
            self._writer.join(timeout=10)
            self._writer = None
            if self._write_conn is not None:
                self._write_conn.close()
        self._close_readers()

    @property
    def schema_version(self) -> int:
        row = self._reader().execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _migrate(self, conn: Any) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        refuse_newer(conn.execute("SELECT max(version) FROM schema_version").fetchone()[0],
                     self.label, len(MIGRATIONS))  # an older Navet on a newer schema
        for number, sql in enumerate(MIGRATIONS, start=1):
            conn.execute(self.begin_sql)
            try:
                self._lock_migrations(conn)
                current = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
                if number <= (current or 0):
                    conn.execute("COMMIT")
                    continue
                if callable(sql):
                    sql(conn, self)
                else:
                    for statement in self.schema_sql(sql).split(";"):
                        if statement.strip():
                            conn.execute(statement)
                conn.execute("INSERT INTO schema_version VALUES (?)", (number,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            log.info("store %s migrated to schema %d", self.label, number)

    def _reader(self) -> Any:
        conn = getattr(self._local, "job", None)  # the writer in a job: its own transaction
        if conn is not None:
            return conn
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    # ------------------------------------------------------------------ write path

    def _write_loop(self) -> None:
        while True:
            batch, stop = self._jobs.take(self.max_batch)  # urgent jobs first (.lanes)
            if batch:
                self._run_batch(batch)
            if stop:
                return

    def _run_batch(self, batch: list[_Job]) -> None:
        results: list[tuple[_Job, Any, BaseException | None]] = []
        conn = self._write_conn
        self._batch_hooks = []
        try:
            if conn is None:
                conn = self._write_conn = self._connect_writer()
                log.info("store %s: the writer reconnected", self.label)
            conn = self._local.job = self._write_conn = self._begin(conn)
            if self.savepoint_each_job:
                results = self._run_jobs(conn, batch)
            else:
                try:  # optimistic: no savepoints, which cost a round trip each
                    results = [(job, job.fn(conn), None) for job in batch]
                except Exception as err:
                    if self._is_fatal(err):
                        raise
                    conn.execute("ROLLBACK")  # one job failed: run them again, each guarded
                    self._rolled_back(self._batch_hooks)
                    conn = self._local.job = self._write_conn = self._begin(conn)
                    results = self._run_jobs(conn, batch)
            conn.execute("COMMIT")
            self._local.job = None
            self.healthy, self.last_error = True, None
            results = [self._committed(job, value, error) for job, value, error in results]
        except Exception as err:
            self._local.job = None
            self._rolled_back(self._batch_hooks)
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.execute("ROLLBACK")
                self._write_conn = self._after_failure(conn)
            self.healthy, self.last_error = False, f"{type(err).__name__}: {err}"
            log.error("store write failed, nothing in this batch was acknowledged: %s", err)
            failure = StoreUnavailableError(f"store {self.label} cannot write: {err}")
            results = [(job, None, failure) for job in batch]
        self.batches += 1
        self.batched_jobs += len(batch)
        # one wake-up of each waiting loop per batch, not one per job
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, Any]]] = {}
        for job, value, error in results:
            by_loop.setdefault(job.loop, []).append((job.future, value, error))
        for loop, settled in by_loop.items():
            loop.call_soon_threadsafe(_settle_all, settled)

    @staticmethod
    def _committed(job: _Job, value: Any,
                   error: BaseException | None) -> tuple[_Job, Any, BaseException | None]:
        """After COMMIT: let a job move in-memory state on to what it committed."""
        if error is not None or job.committed is None:
            return job, value, error
        try:
            return job, job.committed(value), None
        except Exception as err:  # committed all the same; say so, do not hide it
            log.exception("store: after-commit step of a job failed")
            return job, None, err

    def _run_jobs(self, conn: Any,
                  batch: list[_Job]) -> list[tuple[_Job, Any, BaseException | None]]:
        """Each job under its own savepoint: a job that fails is rolled back alone."""
        results: list[tuple[_Job, Any, BaseException | None]] = []
        for job in batch:
            conn.execute("SAVEPOINT job")
            self._job_hooks = []
            try:
                value = job.fn(conn)
            except Exception as err:  # one bad job must not sink the others
                if self._is_fatal(err):
                    raise  # disk full, read-only, connection lost: the whole batch fails
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                self._rolled_back(self._job_hooks)
                results.append((job, None, err))
                continue
            conn.execute("RELEASE job")
            results.append((job, value, None))
        return results

    def _used(self, hook: RulesHook) -> None:
        """A job is about to move ``hook``'s rule state (so a rollback must tell it)."""
        for used in (self._batch_hooks, self._job_hooks):
            if hook not in used:
                used.append(hook)

    @staticmethod
    def _rolled_back(hooks: list[RulesHook]) -> None:
        for hook in hooks:
            try:
                hook.rolled_back()
            except Exception:
                log.exception("store: the rules could not take a rollback")
        hooks.clear()

    @contextlib.contextmanager
    def savepoint(self, conn: Any) -> Iterator[None]:
        """Inside a job: what fails in the block is rolled back alone (unless the database
        itself failed, which fails the batch), and the error goes on to the caller."""
        conn.execute("SAVEPOINT guard")
        try:
            yield
        except Exception as err:
            if not self._is_fatal(err):
                conn.execute("ROLLBACK TO guard")
                conn.execute("RELEASE guard")
            raise
        conn.execute("RELEASE guard")

    def is_fatal(self, err: BaseException) -> bool:
        """Whether ``err`` is a fault of the database (the whole batch fails), not of one
        job's statement."""
        return self._is_fatal(err)

    async def write(self, fn: Callable[[Any], Any],
                    committed: Callable[[Any], T] | None = None, *, urgent: bool = False) -> T:
        """Run ``fn`` inside the next write transaction; return once it is committed.

        ``fn`` runs on the writer's thread, with other jobs in the same transaction. It
        may be run a second time after a rollback (when another job of its batch failed),
        so it must only touch the database and return a value, never change state of
        its own (the rules, which do, are told of every rollback: :class:`RulesHook`).
        Reads through the store on the writer's thread (``read_sync``) run inside the
        transaction while a job runs, so they see what the batch wrote so far.
        ``committed``, if given, runs on the writer's thread once the
        transaction has committed, in commit order, with what ``fn`` returned; its
        result is what ``write`` returns (in-memory state that follows the database,
        like :attr:`alarm_index`, moves there). ``urgent`` jobs (alarms) go ahead of
        bulk ones waiting for the writer (:mod:`.lanes`)."""
        if self._writer is None:
            raise StoreUnavailableError(f"store {self.label} is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put(_Job(fn, loop, future, committed), urgent)
        return await future

    async def read(self, fn: Callable[[Any], T]) -> T:
        return await asyncio.to_thread(lambda: fn(self._reader()))

    def read_sync(self, fn: Callable[[Any], T]) -> T:
        return fn(self._reader())

    # ------------------------------------------------------------------ inbox

    async def append(self, events: Sequence[EventBase], *,
                     frame: RawFrame | None = None, urgent: bool = False) -> AppendResult:
        """Store events (dedup on id), their raw frame, and their outbox rows, atomically.

        In the same transaction the devices' ``last_seen`` moves forward (any event
        from a device proves it is alive), the alarm projection takes the alarm
        events (:func:`.alarms.project`), and the rules (:attr:`rules_hook`, when the
        gateway runs them) rule the new events and what they derive, which is stored
        too: an event and everything derived from it commit together, once.
        ``urgent`` (and any ``alarm.*`` event) puts the write in the writer's urgent lane.
        """
        urgent = urgent or any(ev.type in ALARM_TYPES for ev in events)
        written: Written[None] = await self.append_from(lambda: (events, None), frame=frame,
                                                        urgent=urgent)
        return written.result

    async def append_from(self, produce: Callable[[], tuple[Sequence[EventBase], T]], *,
                          frame: RawFrame | None = None, urgent: bool = False) -> Written[T]:
        """Like :meth:`append`, with the events made by ``produce`` on the writer's thread,
        inside the job, once the rules are current (a rule's timer decides there what is
        due: :meth:`RulesRunner.tick <gateway.core.rules.engine.RulesRunner.tick>`).
        ``produce`` may run again after a rollback, so it returns the same given the same
        state; it also returns a value of its own (``Written.value``)."""
        subs = self.subscriptions

        def job(conn: Any) -> Written[T]:
            hook = self.rules_hook
            written: Written[T] = Written(hook)
            if hook is not None:
                self._used(hook)
                hook.prepare(conn)
            if frame is not None:
                _insert_frame(conn, frame)
            events, written.value = produce()
            written.result = self._store_and_rule(conn, events, subs, hook, written)
            return written

        return await self.write(job, self._after_commit, urgent=urgent)

    async def rule_backlog(self, hook: RulesHook, limit: int = 500) -> int:
        """Rule up to ``limit`` stored events no rules have seen (``ruled = 0``: stored by a
        Navet that ruled in a second transaction and stopped in between, or while no
        rules ran), in seq order; what they derive commits with the mark. Returns how
        many; a write, so once it returns everything committed before it has been ruled."""
        subs = self.subscriptions

        def job(conn: Any) -> Written[int]:
            self._used(hook)
            hook.prepare(conn)
            written: Written[int] = Written(hook)
            rows = conn.execute("SELECT seq, body FROM events WHERE ruled = 0 ORDER BY seq"
                                " LIMIT ?", (limit,)).fetchall()
            backlog = [StoredEvent(int(r[0]), EventAdapter.validate_json(r[1])) for r in rows]
            written.value = len(backlog)
            if backlog:
                written.ruled += backlog
                self._rule(conn, backlog, subs, hook, written)
                conn.executemany("UPDATE events SET ruled = 1 WHERE seq = ?",
                                 [(s.seq,) for s in backlog])
            return written

        written: Written[int] = await self.write(job, self._after_commit)
        return written.value

    def _store_and_rule(self, conn: Any, events: Sequence[EventBase], subs: list[Subscription],
                        hook: RulesHook | None, written: Written[Any]) -> AppendResult:
        result, stored = self._insert_events(conn, events, subs, written, ruled=hook is not None)
        if hook is not None and stored:
            written.ruled += stored
            self._rule(conn, stored, subs, hook, written)
        return result

    def _rule(self, conn: Any, stored: list[StoredEvent], subs: list[Subscription],
              hook: RulesHook, written: Written[Any]) -> None:
        """Rule ``stored``, store what the rules derive, rule that, until nothing is new."""
        for depth in range(1, self.rules_depth + 2):
            derived = hook.derive(stored)
            if not derived:
                return
            _, stored = self._insert_events(conn, derived, subs, written, ruled=True)
            if depth > self.rules_depth:
                log.error("rules: still deriving after %d rounds (a rule answering its own "
                          "events?); stored without ruling: %s", self.rules_depth,
                          ", ".join(f"{s.event.type} {s.event.id}" for s in stored[:10]))
                return
            written.ruled += stored

    def _insert_events(self, conn: Any, events: Sequence[EventBase], subs: list[Subscription],
                       written: Written[Any], *,
                       ruled: bool) -> tuple[AppendResult, list[StoredEvent]]:
        """Insert events, their outbox rows, devices' last_seen and the alarm projection."""
        # One statement for the events and one for their outbox rows (not one per
        # row): on PostgreSQL every statement is a round trip to the server.
        given: dict[str, int] = {}
        mark = 1 if ruled else 0
        for part in _chunks(events, 200):
            given.update((str(r[0]), int(r[1])) for r in conn.execute(
                "INSERT INTO events (id, tenant, type, resident, device, alarm, time,"
                " received, body, ruled) VALUES "
                + ",".join(["(?,?,?,?,?,?,?,?,?,?)"] * len(part))
                + " ON CONFLICT (id) DO NOTHING RETURNING id, seq",
                [v for ev in part for v in (
                    ev.id, ev.tenant, ev.type, ev.resident,
                    ev.device.id if ev.device else None, ev.alarm, iso(ev.time),
                    iso(ev.received or ev.time), ev.model_dump_json(), mark)],
            ).fetchall())
        accepted: list[str] = []
        dups: list[str] = []
        seqs: list[int] = []
        queued: list[tuple[str, int, str, str]] = []
        alarm_events: list[tuple[int, EventBase]] = []
        stored: list[StoredEvent] = []
        for ev in events:
            seq = given.pop(ev.id, None)  # an id twice in one call: the second is a dup
            if seq is None:
                dups.append(ev.id)
                continue
            accepted.append(ev.id)
            seqs.append(seq)
            stored.append(StoredEvent(seq, ev))
            if ev.type.startswith("alarm."):
                alarm_events.append((seq, ev))
            if ev.type in NOT_FANNED_OUT:
                continue
            lane = ev.resident or (ev.device.id if ev.device else "-")
            queued += [(sub.id, seq, lane, iso(ev.received or ev.time)) for sub in subs
                       if sub.enabled and sub.tenant == ev.tenant and sub.matches(ev.type)]
        for rows in _chunks(queued, 500):
            conn.execute(
                "INSERT INTO outbox (subscription, seq, lane, next_attempt) VALUES "
                + ",".join(["(?,?,?,?)"] * len(rows)), [v for row in rows for v in row])
        seen: dict[str, str] = {}
        for ev in events:
            if ev.device is not None and ev.source.adapter != "navet":
                t = iso(ev.time)
                if seen.get(ev.device.id, "") < t:
                    seen[ev.device.id] = t
        for dev, t in seen.items():
            conn.execute(
                "UPDATE devices SET last_seen = ? WHERE id = ? AND (last_seen IS NULL"
                " OR last_seen < ?)", (t, dev, t),
            )
        if alarm_events:
            written.changes += project(conn, sorted(alarm_events, key=lambda p: p[0]))
        stored.sort(key=lambda s: s.seq)
        written.stored += stored
        return AppendResult(tuple(accepted), tuple(dups), tuple(seqs)), stored

    def _after_commit(self, written: Written[T]) -> Written[T]:
        """On the writer's thread, after COMMIT: in-memory state follows the database."""
        if written.changes:
            self.alarm_index.apply(written.changes)
        for listener in self.commit_listeners if written.stored else ():
            try:
                listener(written.stored)
            except Exception:  # committed all the same
                log.exception("store: a commit listener failed")
        if written.hook is not None and written.ruled:
            try:
                written.hook.committed(written.ruled, written.stored)
            except Exception:  # committed all the same
                log.exception("store: the rules' after-commit step failed")
        return written

    async def dead_letter(self, frame: RawFrame, reason: str) -> int:
        return await self.dead_letter_repo.add(frame, reason)

    def unruled(self, limit: int = 500) -> list[StoredEvent]:
        """Stored events no rules have seen yet (see :meth:`rule_backlog`)."""
        rows = self._reader().execute(
            "SELECT seq, body FROM events WHERE ruled = 0 ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [StoredEvent(r["seq"], EventAdapter.validate_json(r["body"])) for r in rows]

    # ------------------------------------------------------------------ queries

    def query_events(
        self,
        tenant: str,
        *,
        types: Sequence[str] = (),
        resident: str | None = None,
        device: str | None = None,
        alarm: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_seq: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[StoredEvent]:
        return self.events.query(
            tenant, types=types, resident=resident, device=device, alarm=alarm, since=since,
            until=until, after_seq=after_seq, limit=limit, newest_first=newest_first)

    def get_event(self, tenant: str, event_id: str) -> StoredEvent | None:
        return self.events.get(tenant, event_id)

    def count_events(self, tenant: str | None = None) -> dict[str, int]:
        return self.events.counts(tenant)

    def count_events_by_adapter(self, tenant: str | None = None,
                                after_seq: int = 0) -> dict[str, dict[str, int]]:
        return self.events.counts_by_adapter(tenant, after_seq)

    def last_seq(self) -> int:
        return self.events.last_seq()

    def dead_letters(self, tenant: str, limit: int = 100) -> list[dict[str, Any]]:
        return self.dead_letter_repo.list(tenant, limit)

    def count_dead_letters(self) -> int:
        return self.dead_letter_repo.count()

    def frame(self, ref: str) -> bytes | None:
        return self.dead_letter_repo.frame(ref)

    # ------------------------------------------------------------------ subscriptions + outbox

    def _load_subscriptions(self, conn: Any) -> list[Subscription]:
        return subscriptions_sql.load(conn, self.cipher, self.label)

    @property
    def subscriptions(self) -> list[Subscription]:
        """Every subscription with its settings in clear (sealed in the database)."""
        if self._subscriptions is None:
            self._subscriptions = self._load_subscriptions(self._reader())
        return list(self._subscriptions)

    async def reseal_subscriptions(self) -> int:
        """Re-encrypt every subscription's settings with the current data key (after a
        rotation); returns how many rows changed."""
        if self.cipher is None:
            raise StoreUnavailableError(f"store {self.label} was opened without data keys")
        cipher = self.cipher
        return await self.write(lambda conn: sealed.reseal_rows(conn, cipher, self.label))

    async def put_subscription(self, sub: Subscription) -> None:
        """Add or replace a subscription; its settings are stored sealed (:mod:`.sealed`)."""
        column = sealed.seal(self.cipher, sub.tenant, sub.id, sub.settings, store=self.label)

        def job(conn: Any) -> list[Subscription]:
            subscriptions_sql.upsert(conn, sub, column)
            return self._load_subscriptions(conn)

        self._subscriptions = await self.write(job)

    def outbox_due(self, subscription: str, now: datetime, limit: int = 100) -> list[OutboxItem]:
        return self.outbox.due(subscription, now, limit)

    async def outbox_done(
        self, subscription: str, seqs: Sequence[int], *, at: datetime | None = None,
        last_event: str | None = None,
    ) -> None:
        await self.outbox.done(subscription, seqs, at=at, last_event=last_event)

    async def outbox_retry(
        self, subscription: str, seq: int, error: str, next_attempt: datetime, *, dead: bool,
        at: datetime | None = None,
    ) -> None:
        await self.outbox.retry(subscription, seq, error, next_attempt, dead=dead, at=at)

    def outbox_depth(self) -> dict[str, int]:
        return self.outbox.depth()

    async def outbox_replay(
        self, sub: Subscription, since: datetime, now: datetime, until: datetime | None = None
    ) -> int:
        return await self.outbox.replay(sub, since, now, until)

    def outbox_status(self, subscription: str) -> dict[str, Any]:
        return self.outbox.status(subscription)

    def outbox_dead(self, subscription: str, limit: int = 20) -> list[dict[str, Any]]:
        return self.outbox.dead(subscription, limit)

    # ------------------------------------------------------------------ care configuration

    async def put_row(self, table: str, key: dict[str, Any], values: dict[str, Any]) -> None:
        """Upsert one configuration row (tenants, residents, devices, plans)."""
        config_table(table)
        await self.write(lambda conn: upsert_config_row(conn, table, key, values))

    def rows(self, table: str, tenant: str | None = None) -> list[dict[str, Any]]:
        return config_rows(self._reader(), table, tenant)


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _settle_all(settled: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in settled:
        _settle(future, value, error)


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def backoff(attempts: int, base: float = 1.0, cap: float = 300.0) -> timedelta:
    """Exponential backoff (without jitter; the caller adds it)."""
    return timedelta(seconds=min(cap, base * (2 ** min(attempts, 20))))
