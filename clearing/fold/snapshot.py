"""The derived state as canonical rows, its hash and the cycle digest."""
from __future__ import annotations

from clearing.fold.state import PointAlgebra, State
from clearing.protocol.encoding import canonical
from clearing.protocol.fields import sha256


def snapshot(state: State, alg=None) -> dict[str, str]:
    """The derived state as key -> canonical JSON (node values only)."""
    alg = alg or PointAlgebra()
    out: dict[str, str] = {}
    if state.config is None:
        return out
    enc = lambda v: alg.encode(v)  # noqa: E731
    out["config"] = canonical(state.config).decode()
    out["cycle"] = canonical({
        "seq": state.seq, "cycle": state.cycle, "cycle_seq": state.cycle_seq, "phase": state.phase,
        "epoch": state.epoch, "epoch_seq": state.epoch_seq,
        "prices": state.prices, "scenario_set": state.scenario_set, "flows": state.flows,
        "margin": state.margin, "margin_done": state.margin_done, "digests": state.digests,
        "vm": {m: enc(v) for m, v in sorted(state.vm.items())},
    }).decode()
    out["default"] = canonical({
        "books": state.books, "pending": state.pending_defaults, "event": state.dm,
        "snapshot": {m: enc(v) for m, v in sorted(state.dm_snapshot.items())},
        "residue": None if state.residue is None else enc(state.residue),
    }).decode()
    for k, rep in enumerate(state.reports):
        out[f"report/{k}"] = canonical(rep).decode()
    for mid, a in state.members.items():
        out["member/" + mid] = canonical({
            "key": a.key, "relay_key": a.relay_key, "cash": enc(a.cash), "df": enc(a.df),
            "pos": [enc(p) for p in a.pos], "status": a.status, "version": a.version,
            "funded": a.funded, "trades": a.trades, "due": None if a.due is None else enc(a.due),
        }).decode()
    rows = state._rows
    for tid, t in state.trades.items():
        cached = rows.get(tid)
        if cached is None or cached[0] is not t:
            cached = rows[tid] = (t, canonical(t).decode())
        out["trade/" + tid] = cached[1]
    return out


def state_hash(state: State) -> bytes:
    return sha256(canonical(snapshot(state)))


def cycle_digest(cycle: int, prev_digest: bytes, chain_head: bytes, st_hash: bytes) -> bytes:
    """Digest of cycle k: the hash chain head before the close event covers
    every event of the cycle (commitments, proofs, signatures, decisions);
    the state hash covers every derived commitment at close."""
    return sha256(b"zkclear.v1/cycle-digest" + cycle.to_bytes(8, "big") + prev_digest + chain_head + st_hash)
