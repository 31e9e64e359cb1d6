"""The derived state as canonical rows, its hash and the cycle digest.

:func:`snapshot` gives every row from scratch; :func:`state_hash` is
SHA-256 of the canonical JSON of that whole snapshot (a JSON object, row key
-> the row's canonical JSON as a string) -- the definition the cycle digests
sign and the auditor recomputes.  :class:`Rows` keeps the same rows up to
date event by event for the node: it recomputes only the rows an event can
have changed (the accounts and trades the fold touched, and the few
per-ledger rows), and hashes lazily, once per change, from cached
serialised rows -- byte for byte the text :func:`state_hash` hashes, so the
two give the same digest (tests/test_engine_incremental.py).
"""
from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Iterable
from typing import Any

from clearing.fold.state import Account, PointAlgebra, State
from clearing.protocol.encoding import canonical
from clearing.protocol.fields import sha256

#: the encoding of one value in a row: ``enc(slot, value)``, where ``slot``
#: names the value's place (a cache key for :class:`Rows`)
Encoder = Callable[[tuple, Any], str]


# -- the rows, written once -----------------------------------------------------------
def config_row(state: State) -> str:
    return canonical(state.config).decode()


def cycle_row(state: State, enc: Encoder) -> str:
    return canonical({
        "seq": state.seq, "cycle": state.cycle, "cycle_seq": state.cycle_seq, "phase": state.phase,
        "epoch": state.epoch, "epoch_seq": state.epoch_seq,
        "prices": state.prices, "scenario_set": state.scenario_set, "flows": state.flows,
        "margin": state.margin, "margin_done": state.margin_done, "digests": state.digests,
        "vm": {m: enc(("vm", m), v) for m, v in sorted(state.vm.items())},
    }).decode()


def default_row(state: State, enc: Encoder) -> str:
    return canonical({
        "books": state.books, "pending": state.pending_defaults, "event": state.dm,
        "snapshot": {m: enc(("snapshot", m), v) for m, v in sorted(state.dm_snapshot.items())},
        "residue": None if state.residue is None else enc(("residue",), state.residue),
    }).decode()


def member_row(mid: str, a: Account, enc: Encoder) -> str:
    row = {
        "key": a.key, "relay_key": a.relay_key, "cash": enc(("cash", mid), a.cash), "df": enc(("df", mid), a.df),
        "pos": [enc(("pos", mid, i), p) for i, p in enumerate(a.pos)], "status": a.status, "version": a.version,
        "funded": a.funded, "trades": a.trades, "due": None if a.due is None else enc(("due", mid), a.due),
    }
    if a.headroom is not None:  # issue 14 §1: only under a pre-trade set, so other rows are unchanged
        row["headroom"] = enc(("headroom", mid), a.headroom)
    return canonical(row).decode()


def snapshot(state: State, alg=None) -> dict[str, str]:
    """The derived state as key -> canonical JSON (node values only)."""
    alg = alg or PointAlgebra()
    out: dict[str, str] = {}
    if state.config is None:
        return out
    enc: Encoder = lambda slot, v: alg.encode(v)  # noqa: E731
    out["config"] = config_row(state)
    out["cycle"] = cycle_row(state, enc)
    out["default"] = default_row(state, enc)
    for k, rep in enumerate(state.reports):
        out[f"report/{k}"] = canonical(rep).decode()
    for mid, a in dict.items(state.members):
        out["member/" + mid] = member_row(mid, a, enc)
    rows = state._rows
    for tid, t in state.trades.items():
        cached = rows.get(tid)
        if cached is None or cached[0] is not t:
            cached = rows[tid] = (t, canonical(t).decode())
        out["trade/" + tid] = cached[1]
    return out


def state_hash(state: State) -> bytes:
    return sha256(canonical(snapshot(state)))


def _piece(key: str, row: str) -> bytes:
    """``"key":"row"`` as :func:`canonical` writes one member of the
    snapshot object (ASCII, the row's quotes escaped)."""
    return (json.dumps(key) + ":" + json.dumps(row)).encode("ascii")


class Rows:
    """The node's snapshot, kept up to date event by event, and its hash.

    ``rows`` always equals ``snapshot(state)`` of the state last applied.
    After a fold (journaled: :meth:`State.begin`), :meth:`changes` recomputes
    the rows the event can have changed -- the accounts and trades it touched
    (:meth:`State.touched`), the cycle row (it holds the sequence number),
    the default-management row, the config and the reports (kept by object:
    both are replaced, never changed in place) -- and returns those that
    differ; :meth:`apply` takes them in once the ledger stored them.  Point
    encodings are cached by place and object (commitments are immutable),
    so an untouched member's values are never encoded again.  :meth:`digest`
    is :func:`state_hash`, computed at most once per change."""

    def __init__(self, state: State, alg=None):
        self.alg = alg or PointAlgebra()
        self._enc: dict[tuple, tuple[Any, str]] = {}
        self._objs: dict[str, tuple[Any, str]] = {}  # row key -> (config/report object, its row)
        self.rows: dict[str, str] = {}
        self._pieces: dict[str, bytes] = {}
        self._order: list[str] = []
        self._digest: bytes | None = None
        self.apply(self.changes(state, dict.keys(state.members), state.trades))

    def _encode(self, slot: tuple, v) -> str:
        hit = self._enc.get(slot)
        if hit is not None and hit[0] is v:
            return hit[1]
        s = self.alg.encode(v)
        self._enc[slot] = (v, s)  # the object is kept: its id cannot be reused while cached
        return s

    def _by_object(self, key: str, obj) -> str:
        hit = self._objs.get(key)
        if hit is not None and hit[0] is obj:
            return hit[1]
        row = canonical(obj).decode()
        self._objs[key] = (obj, row)
        return row

    def changes(self, state: State, members: Iterable[str], trades: Iterable[str]) -> dict[str, str | None]:
        """The rows that differ from :attr:`rows` (None: the row is gone),
        given the member and trade ids the event touched."""
        new: dict[str, str | None] = {}
        if state.config is not None:
            enc = self._encode
            new["config"] = self._by_object("config", state.config)
            new["cycle"] = cycle_row(state, enc)
            new["default"] = default_row(state, enc)
            for k, rep in enumerate(state.reports):
                new[f"report/{k}"] = self._by_object(f"report/{k}", rep)
            for mid in members:
                a = dict.get(state.members, mid)
                new["member/" + mid] = None if a is None else member_row(mid, a, enc)
            for tid in trades:
                t = state.trades.get(tid)
                new["trade/" + tid] = None if t is None else canonical(t).decode()
        k = len(state.reports)
        while f"report/{k}" in self.rows:  # reports are never removed; for completeness
            new[f"report/{k}"] = None
            k += 1
        if state.config is None:
            new.update(dict.fromkeys(self.rows))
        return {k: v for k, v in new.items() if self.rows.get(k) != v}

    def apply(self, changes: dict[str, str | None]) -> None:
        """Take in rows the ledger stored (from :meth:`changes`)."""
        for k, v in changes.items():
            if v is None:
                if self.rows.pop(k, None) is not None:
                    del self._pieces[k]
                    self._order.pop(bisect.bisect_left(self._order, k))
                continue
            if k not in self.rows:
                bisect.insort(self._order, k)
            self.rows[k] = v
            self._pieces[k] = _piece(k, v)
        if changes:
            self._digest = None

    def digest(self) -> bytes:
        """``state_hash`` of the state: SHA-256 of the canonical snapshot."""
        if self._digest is None:
            pieces = self._pieces
            self._digest = sha256(b"{" + b",".join([pieces[k] for k in self._order]) + b"}")
        return self._digest


def cycle_digest(cycle: int, prev_digest: bytes, chain_head: bytes, st_hash: bytes) -> bytes:
    """Digest of cycle k: the hash chain head before the close event covers
    every event of the cycle (commitments, proofs, signatures, decisions);
    the state hash covers every derived commitment at close."""
    return sha256(b"zkclear.v1/cycle-digest" + cycle.to_bytes(8, "big") + prev_digest + chain_head + st_hash)
