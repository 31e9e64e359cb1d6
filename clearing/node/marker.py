"""The durable head marker: no silent loss of acknowledged events."""
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
