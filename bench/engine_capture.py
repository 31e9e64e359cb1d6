"""The clearing node's own per-trade cost over one cycle (issue 16), in process.

What runs: a fresh engine on SQLite (a real file, ``synchronous=FULL``) with
M members admitted and funded with public cash; then N trades of the same
cycle, each through the node's three capture requests -- ``submit_trade``
(trade-validity proof verified, signature checked, sealed openings put in
the relay table), ``affirm`` (the counterparty's signature) and ``receipt``
(the prover's signature; both halves in, the trade is novated).  Everything
the other parties compute is made before the clock starts: the members'
trade proofs, signatures and sealed openings, the counterparties'
affirmations and the prover's receipts (signed with the prover key of the
genesis), so the numbers are the node's alone.  Trades are built once for
the largest N and the first N of them are replayed on a fresh engine per N
(members and keys are the same, so every proof binds the same cycle).

Per N the row reports milliseconds per trade, mean over the cycle's N
trades: ``*_ms`` wall time, ``*_cpu_ms`` the process's CPU time (steadier on
a shared machine; it leaves out the waits for SQLite's and the head
marker's fsyncs), ``last_tenth_*`` over the cycle's last N/10 trades only
(the cost at the cycle's end):

``capture``     submit + affirm + receipt;
``reads``       what the service adds per trade on top: one
                ``GetLedgerStatus`` (:meth:`Engine.status` plus the state
                hash :meth:`Engine.state_digest`) and one pending-trade read
                of the counterparty (:meth:`Engine.pending_for`, as
                ``StreamPendingTrades``).

A node whose per-trade cost does not grow with the cycle shows the same
capture cost at N = 200 and N = 2000.  Run::

    python -m bench.engine_capture [N ...]

(no ``zkclear bench`` suite: ``bench capture`` is the multi-process load
test; this is its in-process, node-only complement).  Inputs come from a
fixed seed (quantities, prices); keys and blindings are fresh.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from clearing.protocol import signing
from clearing.protocol.messages import (
    admission_message,
    affirmation_message,
    deposit_message,
    genesis_message,
    receipt_message,
    trade_message,
    trade_tuple,
)
from clearing.protocol.relay import generate_relay_key, relay_public_bytes, seal_opening
from clearing.protocol.statements import trade_statement

from . import BenchError, machine_description

INSTRUMENTS: list[dict[str, Any]] = [
    {"id": "ESX", "multiplier": 50, "tick": 25, "price0": 500000},
    {"id": "RTX", "multiplier": 20, "tick": 10, "price0": 200000},
]
CASH = 10**12


@dataclass
class _Prebuilt:
    """One trade as the node receives it: the initiator's submission, the
    counterparty's affirmation and the prover's receipt, all signed."""

    trade: dict
    proof: bytes
    sig: bytes
    sealed_cp: bytes
    sealed_pv: bytes
    counterparty: str
    affirm_sig: bytes
    receipt_sig: bytes


class _House:
    """Keys of one clearing house (operator, node, prover, members), reused
    by every fresh engine so that pre-built trades verify on each."""

    def __init__(self, members: int):
        from prover.custody.witness import WitnessStore

        self.op_sk = signing.generate_identity_key()
        self.node_sk = signing.generate_identity_key()
        self.prover_sk = signing.generate_identity_key()
        witness = WitnessStore(self.prover_sk, generate_relay_key(), signing.public_key_bytes(self.op_sk))
        self.prover_relay = witness.relay_public
        self.config = {
            "instruments": [dict(i) for i in INSTRUMENTS],
            "ccp": {"skin_in_the_game_1": 0, "skin_in_the_game_2": 0, "assessment_cap_multiple": 2},
            "keys": {
                "operator": signing.public_key_bytes(self.op_sk).hex(), "prover": witness.public_key.hex(),
                "prover_relay": witness.relay_public.hex(), "prover_relay_sig": witness.relay_binding().hex(),
                "node": signing.public_key_bytes(self.node_sk).hex(),
            },
        }
        self.members = {f"M{k:02d}": (signing.generate_identity_key(), generate_relay_key())
                        for k in range(members)}

    def op(self, msg) -> bytes:
        return signing.sign(self.op_sk, *msg)

    def engine(self, path: str):
        """A fresh engine: genesis, every member admitted with public cash."""
        from clearing.node.engine import Engine

        eng = Engine.create(path, self.config, self.op(genesis_message(self.config)), self.node_sk)
        for mid, (sk, relay) in self.members.items():
            pk, rpk = signing.public_key_bytes(sk), relay_public_bytes(relay)
            eng.admit(mid, pk, rpk, signing.sign_kem_key(sk, mid, rpk), self.op(admission_message(mid, pk, rpk)),
                      f"admit-{mid}")
            rid = f"dep-{mid}"
            eng.deposit(mid, CASH, eng.state.cycle, signing.sign(sk, *deposit_message(mid, CASH, 1, rid)), rid)
        return eng

    def build(self, n: int, cycle: int, cycle_seq: int, seed: int = 16) -> list[_Prebuilt]:
        """``n`` trades of cycle ``cycle`` (opened at ``cycle_seq``), proven
        and signed by their initiators, affirmed and receipted in advance."""
        from prover.statements import prove
        from zkp.field import random_scalar
        from zkp.generators import generators
        from zkp.pedersen import Opening

        rand = random.Random(seed)
        ids = sorted(self.members)
        out = []
        for k in range(n):
            buyer, seller = rand.sample(ids, 2)
            inst = INSTRUMENTS[k % len(INSTRUMENTS)]
            side = "buy" if k % 2 == 0 else "sell"
            qty, rho = rand.randint(1, 200), random_scalar()
            T = generators().commit(qty, rho)
            price = inst["price0"] + inst["tick"] * rand.randint(-20, 20)
            trade = {"trade_id": f"t{k:06d}", "cycle": cycle, "buyer": buyer, "seller": seller,
                     "instrument": inst["id"], "side": side, "price": price, "T": T.encode().hex()}
            initiator, cp = (buyer, seller) if side == "buy" else (seller, buyer)
            tup = trade_tuple(trade)
            st = trade_statement(cycle, cycle_seq, initiator, T, tup)
            out.append(_Prebuilt(
                trade=trade, proof=prove(st, [Opening(qty, rho)]).to_bytes(),
                sig=signing.sign(self.members[initiator][0], *trade_message(trade)),
                sealed_cp=seal_opening(relay_public_bytes(self.members[cp][1]), qty, rho, tup),
                sealed_pv=seal_opening(self.prover_relay, qty, rho, tup), counterparty=cp,
                affirm_sig=signing.sign(self.members[cp][0], *affirmation_message(trade, cp)),
                receipt_sig=signing.sign(self.prover_sk, *receipt_message(trade))))
        return out


def _capture(eng, trades: list[_Prebuilt]) -> dict[str, list[float]]:
    """Per trade: seconds (wall, CPU) in submit + affirm + receipt and in the reads."""
    out: dict[str, list[float]] = {"capture": [], "capture_cpu": [], "reads": [], "reads_cpu": []}
    for p in trades:
        tid = p.trade["trade_id"]
        c0 = time.process_time()
        t0 = time.perf_counter()
        eng.submit_trade(p.trade, p.proof, p.sig, p.sealed_cp, p.sealed_pv, f"trade-{tid}")
        eng.affirm(tid, p.counterparty, p.affirm_sig, f"aff-{tid}")
        res = eng.receipt(tid, p.receipt_sig, f"rcpt-{tid}")
        t1, c1 = time.perf_counter(), time.process_time()
        eng.status()
        eng.state_digest()
        eng.pending_for(p.counterparty)
        t2, c2 = time.perf_counter(), time.process_time()
        if res.get("status") != "novated":
            raise BenchError(f"trade {tid} was not novated: {res}")
        out["capture"].append(t1 - t0)
        out["capture_cpu"].append(c1 - c0)
        out["reads"].append(t2 - t1)
        out["reads_cpu"].append(c2 - c1)
    return out


def _ms(xs: list[float]) -> float:
    return round(1000 * statistics.fmean(xs), 3)


def run_engine_capture(sizes=(200, 1000, 2000), members: int = 8, backend: str | None = None,
                       log=lambda msg: None) -> list[dict[str, Any]]:
    """One row per N in ``sizes`` (see the module docstring)."""
    from zkp.group import get_backend, use_backend

    if not sizes or min(sizes) < 10 or members < 2:
        raise BenchError("engine capture needs N >= 10 trades and at least 2 members")
    tmp = tempfile.mkdtemp(prefix="zkclear-engine-capture-")
    rows = []
    try:
        with use_backend(backend or get_backend().name) as b:
            house = _House(members)
            probe = house.engine(os.path.join(tmp, "probe.db"))
            cycle, cycle_seq = probe.state.cycle, probe.state.cycle_seq
            probe.close()
            log(f"[{b.name}] building {max(sizes)} trades (proofs, signatures, sealed openings) ...")
            t0 = time.perf_counter()
            built = house.build(max(sizes), cycle, cycle_seq)
            log(f"[{b.name}] ... built in {time.perf_counter() - t0:.1f} s")
            for n in sizes:
                eng = house.engine(os.path.join(tmp, f"n{n}.db"))
                try:
                    times = _capture(eng, built[:n])
                    digest = eng.state_digest()
                finally:
                    eng.close()
                tail = max(1, n // 10)
                row: dict[str, Any] = {"backend": b.name, "members": members, "trades": n}
                for k, xs in times.items():
                    row[f"{k}_ms"] = _ms(xs)
                for k, xs in times.items():
                    row[f"last_tenth_{k}_ms"] = _ms(xs[-tail:])
                row["state_hash"] = digest
                log(f"[{b.name}] N={n}: capture {row['capture_ms']} ms/trade, CPU {row['capture_cpu_ms']} "
                    f"(last tenth {row['last_tenth_capture_cpu_ms']}); reads {row['reads_ms']} ms/trade, "
                    f"CPU {row['reads_cpu_ms']} (last tenth {row['last_tenth_reads_cpu_ms']})")
                rows.append(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main(argv: list[str]) -> int:
    sizes = tuple(int(a) for a in argv) or (200, 1000, 2000)
    rows = run_engine_capture(sizes, log=lambda msg: print(msg, file=sys.stderr))
    print(json.dumps({"machine": machine_description(), "load_avg": list(os.getloadavg()), "results": rows},
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
