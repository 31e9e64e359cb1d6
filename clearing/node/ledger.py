"""The clearing node's append-only event log (SQLite, hash-chained).

What is stored
--------------
``events``     one row per event: sequence number (1, 2, ...), the event as
               canonical JSON, and the chain hash
                   h_0 = SHA-256("zkclear.v1/ledger/genesis")
                   h_i = SHA-256(h_{i-1} || canonical({"seq": i, "event": e_i}))
``derived``    the derived state (the fold of all events), as key -> canonical
               JSON rows; the engine hands over the rows each event changed
               (:class:`clearing.fold.snapshot.Rows`) and only those are
               written.
``requests``   client request ids: (actor, request id) -> SHA-256 of the
               request content, the sequence number it produced, its result.
``meta``       the chain head (sequence number and hash).
``relay``      trade openings sealed to their recipients.  These are *not*
               part of the public ledger (not hashed, not replayed); they are
               deleted once the trade is novated or expires.

Invariants
----------
* Canonical JSON: sorted keys, no whitespace, ASCII, and only ints, strings,
  booleans, null, lists and objects -- a float anywhere is rejected
  (:func:`canonical`), so money never passes through binary floating point.
* Every append writes the event, the new head, the changed derived rows,
  the request id and any relay changes together: after a crash either all
  of them are there or none is.  Alone, an append is one SQLite transaction;
  inside a *group* (:meth:`Ledger.begin_group` .. :meth:`Ledger.end_group`,
  the node's group commit) it is one SAVEPOINT of the group's transaction
  -- a failed append rolls back to its savepoint, the group's other appends
  stay -- and the group commits once.  Reads on this connection see the
  group's uncommitted writes (a request id recorded earlier in the group
  replays); other connections do not.  Should SQLite roll back the whole
  transaction on an error (it may, on SQLITE_FULL, SQLITE_IOERR, ...), the
  group is lost: every later write of the group and :meth:`end_group` raise
  that error.  The database runs in WAL mode with ``synchronous=FULL``
  (durable once ``COMMIT`` returns) and ``secure_delete=ON``: a deleted
  relay ciphertext is zeroed in the file, not left in free pages (whatever
  the SQLite build's default).
* On open, :meth:`Ledger.verify_chain` recomputes the whole hash chain and the
  stored head; the engine then replays every event through its fold and
  compares the result with ``derived`` (:meth:`Ledger.check_derived`).  An
  edited, inserted, deleted or reordered event, or an edited derived row, is
  :class:`~clearing.protocol.errors.LedgerCorrupted`.  (Someone who rewrites the log
  *and* recomputes the chain and the derived state is caught by the auditor:
  each cycle digest covers the chain head and is signed by the node's key.)
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from clearing.protocol.encoding import GENESIS_HASH, canonical, chain_hash
from clearing.protocol.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    LedgerCorrupted,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq   INTEGER PRIMARY KEY,
    body  TEXT NOT NULL,
    hash  BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS derived (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    actor      TEXT NOT NULL,
    request_id TEXT NOT NULL,
    content    BLOB NOT NULL,
    seq        INTEGER NOT NULL,
    result     TEXT NOT NULL,
    PRIMARY KEY (actor, request_id)
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS relay (
    trade_id  TEXT NOT NULL,
    recipient TEXT NOT NULL,
    sealed    BLOB NOT NULL,
    PRIMARY KEY (trade_id, recipient)
);
"""


class Ledger:
    """One SQLite database holding the event log and the derived state.

    Not thread-safe: the engine owning it serialises all writes."""

    def __init__(self, path: str):
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA secure_delete=ON")
        if self._db.execute("PRAGMA secure_delete").fetchone() != (1,):
            raise FailedPrecondition("this SQLite build cannot enable secure_delete")
        self._db.executescript(_SCHEMA)
        #: inside a group (:meth:`begin_group`): writes are savepoints of one transaction
        self._group = False
        #: the error that rolled back the whole group's transaction, if one did
        self._group_lost: BaseException | None = None

    def close(self) -> None:
        self._db.close()

    # -- groups (group commit) -----------------------------------------------
    @property
    def in_group(self) -> bool:
        return self._group

    def begin_group(self) -> None:
        """Start a group: the writes until :meth:`end_group` go into one
        transaction (begun at the first write), each its own savepoint."""
        if self._group or self._db.in_transaction:
            raise RuntimeError("a group or transaction is already open on this ledger")
        self._group, self._group_lost = True, None

    def end_group(self) -> None:
        """Commit the group's transaction (synchronous=FULL: durable when this
        returns).  On any failure nothing of the group is applied: the
        transaction is rolled back and the error raised."""
        if not self._group:
            return
        self._group = False
        lost, self._group_lost = self._group_lost, None
        try:
            if lost is not None:
                raise lost
            if self._db.in_transaction:
                self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    @contextmanager
    def _grouped(self, cur: sqlite3.Cursor) -> Iterator[None]:
        """One write of a group: inside the group's transaction (begun here
        if needed), under its own savepoint."""
        if self._group_lost is not None:
            raise self._group_lost
        if not self._db.in_transaction:
            cur.execute("BEGIN IMMEDIATE")
        cur.execute("SAVEPOINT call")
        try:
            yield
        except BaseException as exc:
            if not self._db.in_transaction:  # SQLite rolled back the whole transaction
                self._group_lost = exc
            else:
                try:
                    cur.execute("ROLLBACK TO call")
                    cur.execute("RELEASE call")
                except sqlite3.Error:  # this write's own changes may remain: the group must not commit
                    self._group_lost = exc
            raise
        cur.execute("RELEASE call")

    # -- reading -----------------------------------------------------------
    def head(self) -> tuple[int, bytes]:
        """(sequence number, hash) of the last event; (0, genesis) when empty."""
        rows = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('seq', 'hash')").fetchall())
        if not rows:
            return 0, GENESIS_HASH
        return int(rows["seq"]), bytes(rows["hash"])

    def events(self, since: int = 0) -> Iterator[tuple[int, dict]]:
        """Events with sequence number > ``since``, in order."""
        cur = self._db.execute("SELECT seq, body FROM events WHERE seq > ? ORDER BY seq", (since,))
        for seq, body in cur:
            yield seq, json.loads(body)

    def events_with_hashes(self, since: int = 0, limit: int | None = None) -> list[tuple[int, dict, bytes]]:
        """(seq, body, chain hash) of the events after ``since``, in order;
        at most ``limit`` of them when given."""
        cur = self._db.execute("SELECT seq, body, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                               (since, -1 if limit is None else limit))
        return [(seq, json.loads(body), bytes(h)) for seq, body, h in cur]

    def derived(self) -> dict[str, str]:
        """The stored derived rows (read from the database: the engine keeps
        its own copy, :class:`clearing.fold.snapshot.Rows`)."""
        return dict(self._db.execute("SELECT key, value FROM derived").fetchall())

    def lookup_request(self, actor: str, request_id: str) -> tuple[bytes, int, Any] | None:
        row = self._db.execute(
            "SELECT content, seq, result FROM requests WHERE actor = ? AND request_id = ?", (actor, request_id)
        ).fetchone()
        if row is None:
            return None
        return bytes(row[0]), int(row[1]), json.loads(row[2])

    def relay_get(self, trade_id: str, recipient: str) -> bytes | None:
        row = self._db.execute(
            "SELECT sealed FROM relay WHERE trade_id = ? AND recipient = ?", (trade_id, recipient)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def relay_trades(self) -> list[str]:
        return [t for (t,) in self._db.execute("SELECT DISTINCT trade_id FROM relay ORDER BY trade_id")]

    # -- integrity ---------------------------------------------------------
    def verify_chain(self) -> tuple[int, bytes]:
        """Recompute the hash chain over every stored event; returns the head.

        Raises LedgerCorrupted on a gap in the sequence numbers, a body that
        is not canonical JSON, a wrong hash or a stored head that disagrees."""
        prev = GENESIS_HASH
        expect = 1
        for seq, body, h in self._db.execute("SELECT seq, body, hash FROM events ORDER BY seq"):
            if seq != expect:
                raise LedgerCorrupted(f"event log has a gap: expected event {expect}, found {seq}")
            try:
                parsed = json.loads(body)
                ok = canonical(parsed) == body.encode("ascii")
            except (ValueError, InvalidArgument, UnicodeEncodeError):
                ok = False
            if not ok:
                raise LedgerCorrupted(f"event {seq} is not canonical JSON")
            prev = chain_hash(prev, seq, parsed)
            if prev != bytes(h):
                raise LedgerCorrupted(f"hash chain broken at event {seq}")
            expect += 1
        head = self.head()
        if head != (expect - 1, prev):
            raise LedgerCorrupted("stored chain head does not match the event log")
        return head

    def check_derived(self, snapshot: dict[str, str]) -> None:
        """Compare the replayed state with the stored derived state."""
        stored = self.derived()
        if stored != snapshot:
            keys = sorted(k for k in set(stored) | set(snapshot) if stored.get(k) != snapshot.get(k))
            raise LedgerCorrupted(f"stored derived state differs from the replayed events at {keys[:5]}")

    # -- writing -----------------------------------------------------------
    def append(
        self,
        body: dict,
        rows: dict[str, str | None],
        request: tuple[str, str, bytes, Any] | None = None,
        extra: Callable[[sqlite3.Cursor], None] | None = None,
    ) -> tuple[int, bytes]:
        """Append one event atomically.

        ``rows`` are the derived rows the event changed (key -> canonical
        JSON; None deletes the row); the other rows stay as they are.
        ``request`` = (actor, request id, content hash, result) records the
        client request id; a concurrent duplicate makes the append fail with
        AlreadyExists (none of it written).  ``extra`` runs inside the
        append's transaction or savepoint (relay bookkeeping).  Returns
        (seq, hash)."""
        data = canonical(body)
        cur = self._db.cursor()
        if self._group:
            with self._grouped(cur):
                seq, prev = self.head()
                h = chain_hash(prev, seq + 1, body)
                self._write(cur, seq + 1, data, h, rows, request, extra)
            return seq + 1, h
        seq, prev = self.head()
        seq += 1
        h = chain_hash(prev, seq, body)
        try:
            cur.execute("BEGIN IMMEDIATE")
            if self.head() != (seq - 1, prev):
                raise LedgerCorrupted("the event log changed under this engine")
            self._write(cur, seq, data, h, rows, request, extra)
            cur.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                cur.execute("ROLLBACK")
            raise
        return seq, h

    @staticmethod
    def _write(cur: sqlite3.Cursor, seq: int, data: bytes, h: bytes, rows: dict[str, str | None],
               request: tuple[str, str, bytes, Any] | None,
               extra: Callable[[sqlite3.Cursor], None] | None) -> None:
        """:meth:`append`'s writes, inside its transaction or savepoint."""
        cur.execute("INSERT INTO events (seq, body, hash) VALUES (?, ?, ?)", (seq, data.decode("ascii"), h))
        cur.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seq', ?), ('hash', ?)", (str(seq), h))
        gone = [(k,) for k, v in rows.items() if v is None]
        if gone:
            cur.executemany("DELETE FROM derived WHERE key = ?", gone)
        cur.executemany("INSERT OR REPLACE INTO derived (key, value) VALUES (?, ?)",
                        [(k, v) for k, v in rows.items() if v is not None])
        if request is not None:
            actor, rid, chash, result = request
            try:
                cur.execute(
                    "INSERT INTO requests (actor, request_id, content, seq, result) VALUES (?, ?, ?, ?, ?)",
                    (actor, rid, chash, seq, canonical(result).decode("ascii")),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(f"request id {rid!r} of {actor!r} already used") from None
        if extra is not None:
            extra(cur)

    def relay_drop(self, trade_ids) -> None:
        """Delete relayed ciphertexts (outside the chain; idempotent; in a
        group, a savepoint of its transaction)."""
        ids = list(trade_ids)
        if not ids:
            return
        if self._group:
            cur = self._db.cursor()
            with self._grouped(cur):
                cur.executemany("DELETE FROM relay WHERE trade_id = ?", [(t,) for t in ids])
            return
        with self._db:
            self._db.executemany("DELETE FROM relay WHERE trade_id = ?", [(t,) for t in ids])


__all__ = ["Ledger"]
