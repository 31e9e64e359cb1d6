"""The durable head marker: no silent loss of acknowledged events.

The marker ``<db>.head`` records (seq, chain head) of the last event the
node acknowledged; on open (:func:`_check_marker`) a ledger shorter than it,
or forking from it, is refused (a lost WAL, a replaced database).

**Group commit.**  The node's engine thread runs the calls queued for it
as a group: their events are savepoints of one SQLite transaction, which
commits once for the group (synchronous=FULL in WAL mode: the WAL is
fsynced, the group durable, when ``COMMIT`` returns;
:meth:`Engine.end_group`); then the marker, two fsyncs, is written once for
the group's last event (:meth:`Engine.flush_marker`), and only then does
any of the group's callers get its answer.  Hence:

* the marker never claims more than the database holds -- it is written
  after the commit of the events it names, and a marker write that fails
  leaves the older marker (tmp file + rename: never a torn one);
* every acknowledged event is covered by the marker -- no answer leaves the
  engine thread before the marker write that follows its group's commit (a
  failed write fails every answer of the group; the committed events then
  stand, and a retry with the same request id gets the recorded result);
* nothing uncommitted is acknowledged or published -- a group whose commit
  fails (or is cut short by a crash) answers no call and publishes nothing
  (no stream push, no ledger-feed event): its events are in neither the
  database nor the marker, and the engine undid their folds;
* a crash between a commit and the marker write loses no acknowledged
  event: the database holds more than the marker claims, which open allows;
  a crash before the commit loses the whole group, none of it acknowledged.

An engine used directly (tests, tools) writes the marker after each commit.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from clearing.node.ledger import Ledger
from clearing.protocol.errors import (
    LedgerCorrupted,
)


def marker_path(db_path) -> Path:
    """The node's head marker beside its database: ``<db>.head``."""
    return Path(str(db_path) + ".head")


def read_marker(db_path) -> tuple[int, str] | None:
    """(seq, chain head hex) of the last event this node acknowledged, or
    None when there is no marker (a new node)."""
    p = marker_path(db_path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        seq, head = data["seq"], data["head"]
        if not isinstance(seq, int) or not isinstance(head, str) or len(head) != 64:
            raise ValueError
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise LedgerCorrupted(f"the head marker {p.name} is unreadable; restore it or the ledger from a backup") \
            from None
    return seq, head


def write_marker(db_path, seq: int, head: bytes) -> None:
    """Record (seq, head) durably: write a temporary file, fsync it, rename it
    over the marker and fsync the directory -- after the SQLite commit
    (synchronous=FULL) and before the request is acknowledged."""
    p = marker_path(db_path)
    tmp = p.with_name(p.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps({"seq": seq, "head": head.hex()}).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, p)
    dfd = os.open(p.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _check_marker(led: Ledger, seq: int) -> None:
    """Refuse a ledger that is shorter than, or forks from, what this node
    acknowledged (a deleted, truncated or replaced database, a lost WAL)."""
    mark = read_marker(led.path)
    if mark is None:
        return
    mseq, mhead = mark
    if mseq > seq:
        raise LedgerCorrupted(f"the ledger holds {seq} events but this node acknowledged {mseq}: the database "
                              "(or its WAL) was lost or replaced; restore it from a backup")
    rows = led.events_with_hashes(mseq - 1, 1) if mseq > 0 else []
    if mseq > 0 and (not rows or rows[0][2].hex() != mhead):
        raise LedgerCorrupted(f"the ledger's event {mseq} differs from the one this node acknowledged "
                              "(a forked or replaced database); restore it from a backup")
