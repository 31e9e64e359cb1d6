"""``zkclear bench cycle``: one full clearing cycle at scale, timed per phase.

What runs (in process: the engine and the prover's witness store are driven
through their Python APIs exactly as the gRPC services drive them, without
the network -- the services add mTLS round trips, not proving work):

setup (untimed, reported as ``setup_s``)
    genesis; M members admitted, each depositing cash and funding the default
    fund; M*I/2 trades (members paired, every pair trading every instrument,
    alternating sides) so that every member holds a position in every one of
    the I instruments.  Each trade is the real path: trade-validity proof,
    signature, sealed openings, affirmation, prover receipt.  Then the
    prover's worker pool is started (``pool_start_s``, also untimed: a
    prover service starts it once, not per cycle).

the timed cycle (``phases_s``, ``total_s`` their sum)
    ``vm_update``  the operator's settlement (new prices, S x I scenario
                   matrix): the engine applies variation margin to every
                   member's committed cash; the prover follows the event.
    ``prove``      the prover's margin batch: M margin proofs (each an
                   aggregated range proof over S scenario equities E_s),
                   in W worker processes (:mod:`prover.pool`).
    ``verify``     the node verifies the cycle's M proofs as one batch
                   (deriving every E_s itself), records the results.
    ``close``      cycle close: invariants, state digest, node signature.

``batch_verify_s`` repeats the node's batch verification of the same proofs
on its own (statement derivation + one batched check), outside the total,
to compare with the batch-verification target.  ``ok`` is true when every
member passed and the cycle closed with a digest.

The machine may be shared: next to wall times the report has ``cpu_s``
(CPU seconds per phase; for ``prove`` the workers' CPU seconds summed),
``load_avg``, and ``idle_estimate_s`` -- the cycle on an otherwise idle
machine with W cores: parent phases at their CPU time plus proving CPU / W.
It is an estimate (CPU time also stretches somewhat under contention).

Members hold 10^12 of cash, so every scenario equity is in [0, 2^64) and
every member passes (full proofs): the bench measures the common case.
Inputs come from a fixed seed (positions, prices, matrix), keys are fresh.

``--margin-model es`` settles with an expected-shortfall scenario set
instead of the scan: the S x I matrix of a seeded synthetic fat-tailed
price history's overlapping 2-day moves (:mod:`clearing.ccp.historical`),
k tail scenarios for alpha 0.975.

``--dask ADDRESS`` (``local:N``: a TLS LocalCluster of N worker processes,
certificates from a throw-away Dask CA) runs every cycle twice on the same
setup: first on the local process pool, then on the Dask cluster
(:mod:`prover.distributed`); the report is the Dask row with the local
pool's prove phase beside it (``vs_local_pool``: wall and CPU, the
throughput ratio local wall / Dask wall, the scheduling overhead = Dask
wall - local wall) and the executor's counters (``dask``).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from typing import Any

from clearing.protocol.fields import PROVER
from clearing.protocol.messages import (
    TRADE_FIELDS,
    admission_message,
    affirmation_message,
    deposit_message,
    funding_message,
    genesis_message,
    scenario_set_id,
    settlement_message,
    trade_message,
    trade_tuple,
)
from clearing.protocol.statements import trade_statement

from . import BenchError, machine_description

CASH = 10**12
DF = 10**8


class _Member:
    def __init__(self, mid: str):
        from clearing.protocol import signing
        from clearing.protocol.relay import generate_relay_key, relay_public_bytes

        self.id = mid
        self.sk = signing.generate_identity_key()
        self.relay = generate_relay_key()
        self.pk = signing.public_key_bytes(self.sk)
        self.rpk = relay_public_bytes(self.relay)

    def sign(self, msg) -> bytes:
        from clearing.protocol import signing

        return signing.sign(self.sk, *msg)


class CycleSim:
    """An in-process clearing house: engine (SQLite in ``path``) + prover."""

    def __init__(self, path: str, instruments: int, *, workers: int | None = None, seed: int = 7):
        from clearing.node.engine import Engine
        from clearing.protocol import signing
        from clearing.protocol.relay import generate_relay_key
        from prover.custody.witness import WitnessStore

        self.rand = random.Random(seed)
        self.op_sk = signing.generate_identity_key()
        self.node_sk = signing.generate_identity_key()
        self.witness = WitnessStore(signing.generate_identity_key(), generate_relay_key(),
                                    signing.public_key_bytes(self.op_sk))
        self.witness.workers = workers
        self.instruments: list[dict[str, Any]] = [
            {"id": f"I{i:02d}", "multiplier": 10 + i, "tick": 1, "price0": 100_000 + 1_000 * i}
            for i in range(instruments)]
        self.prices = [i["price0"] for i in self.instruments]
        config = {
            "instruments": [dict(i) for i in self.instruments],
            "ccp": {"skin_in_the_game_1": 0, "skin_in_the_game_2": 0, "assessment_cap_multiple": 2},
            "keys": {
                "operator": signing.public_key_bytes(self.op_sk).hex(), "prover": self.witness.public_key.hex(),
                "prover_relay": self.witness.relay_public.hex(),
                "prover_relay_sig": self.witness.relay_binding().hex(),
                "node": signing.public_key_bytes(self.node_sk).hex(),
            },
        }
        self.engine = Engine.create(path, config, self.op(genesis_message(config)), self.node_sk)
        self.members: dict[str, _Member] = {}
        self._rid = 0
        self.version = 0
        self.sync()

    def op(self, msg) -> bytes:
        from clearing.protocol import signing

        return signing.sign(self.op_sk, *msg)

    def rid(self, prefix: str) -> str:
        self._rid += 1
        return f"{prefix}-{self._rid}"

    def sync(self) -> None:
        self.witness.follow(self.engine.events(self.witness.state.seq))

    @property
    def cycle(self) -> int:
        return self.engine.state.cycle

    def accounts(self) -> dict:
        return {m: self.engine.account(m) for m in self.engine.state.members}

    # -- setup ---------------------------------------------------------------------
    def admit(self, mid: str, cash: int = CASH) -> None:
        from clearing.protocol import signing

        m = self.members[mid] = _Member(mid)
        self.engine.admit(mid, m.pk, m.rpk, signing.sign_kem_key(m.sk, mid, m.rpk),
                          self.op(admission_message(mid, m.pk, m.rpk)), self.rid("admit"))
        self.sync()
        rid = self.rid("dep")
        self.engine.deposit(mid, cash + DF, self.cycle, m.sign(deposit_message(mid, cash + DF, self.cycle, rid)),
                            rid)
        self.sync()
        C = self.witness.prepare_funding(mid, DF)
        rid = self.rid("df")
        epoch = self.engine.state.epoch
        sig = m.sign(funding_message(mid, epoch, C.encode(), rid))
        ctx_seq, proof = self.witness.prove_funding(mid, C.encode().hex(), epoch, rid, sig, self.engine.account(mid))
        self.engine.fund_default(mid, C, epoch, ctx_seq, proof, sig, rid)
        self.sync()

    def trade(self, tid: str, buyer: str, seller: str, inst: str, qty: int, price: int) -> None:
        from clearing.protocol.relay import open_opening, seal_opening
        from prover.statements import prove
        from zkp.field import random_scalar
        from zkp.generators import generators
        from zkp.pedersen import Opening

        rho = random_scalar()
        T = generators().commit(qty, rho)
        trade = {"trade_id": tid, "cycle": self.cycle, "buyer": buyer, "seller": seller, "instrument": inst,
                 "side": "buy", "price": price, "T": T.encode().hex()}
        b, s = self.members[buyer], self.members[seller]
        tup = trade_tuple(trade)
        st = trade_statement(self.cycle, self.engine.state.cycle_seq, buyer, T, tup)
        proof = prove(st, [Opening(qty, rho)]).to_bytes()
        self.engine.submit_trade(trade, proof, b.sign(trade_message(trade)), seal_opening(s.rpk, qty, rho, tup),
                                 seal_opening(self.witness.relay_public, qty, rho, tup), self.rid("trade"))
        self.sync()
        t = self.engine.trade(tid)
        checked = {k: t[k] for k in TRADE_FIELDS}
        open_opening(s.relay, self.engine.relayed(tid, seller), trade_tuple(checked))  # the seller's check
        self.engine.affirm(tid, seller, s.sign(affirmation_message(checked, seller)), self.rid("aff"))
        self.sync()
        rsig = self.witness.receive_opening(tid, self.engine.relayed(tid, PROVER))
        self.engine.receipt(tid, rsig, self.rid("rcpt"))
        self.sync()

    def populate(self, members: int, cash: dict | None = None) -> None:
        """Admit members M000.. (cash ``CASH`` unless ``cash`` says otherwise)
        and trade until every member holds every instrument."""
        ids = [f"M{k:03d}" for k in range(members)]
        for mid in ids:
            self.admit(mid, (cash or {}).get(mid, CASH))
        n = 0
        for k in range(0, members - 1, 2):
            for j, inst in enumerate(self.instruments):
                a, b = ids[k], ids[k + 1]
                buyer, seller = (a, b) if (k // 2 + j) % 2 == 0 else (b, a)
                n += 1
                self.trade(f"t{n}", buyer, seller, inst["id"], self.rand.randint(1, 200), inst["price0"])
        if members % 2:  # the odd one out trades with the first member
            for inst in self.instruments:
                n += 1
                self.trade(f"t{n}", ids[-1], ids[0], inst["id"], self.rand.randint(1, 200), inst["price0"])

    # -- the cycle ---------------------------------------------------------------------
    def matrix(self, scenarios: int) -> list[list[int]]:
        """Row 0: no move (solvency); then price shocks of up to 15 % per
        instrument (per-contract P&L = shock * multiplier)."""
        rows = [[0] * len(self.instruments)]
        for _ in range(scenarios - 1):
            rows.append([self.rand.randint(-15, 15) * p // 100 * i["multiplier"]
                         for p, i in zip(self.prices, self.instruments)])
        return rows

    def es_matrix(self, scenarios: int, alpha: str = "0.975") -> tuple[list[list[int]], int]:
        """An ES set (matrix, k): the ``scenarios`` overlapping 2-day moves of
        a seeded synthetic price history of this sim's instruments."""
        from clearing.ccp.historical import historical_set, synthetic_history
        from clearing.ccp.scenario import Instrument

        insts = [Instrument(i["id"], i["price0"], i["multiplier"], i["tick"], i["price0"] // 10)
                 for i in self.instruments]
        hs = historical_set(synthetic_history(insts, scenarios + 3, self.rand.randint(0, 1 << 30)),
                            scenarios, 2, alpha)
        return [list(r) for r in hs.pnl], hs.k

    def settle(self, scenarios: int, model: str = "scan") -> None:
        self.prices = [p + self.rand.randint(-50, 50) for p in self.prices]
        ids = [i["id"] for i in self.instruments]
        self.version += 1
        if model == "es":
            matrix, k = self.es_matrix(scenarios)
            es = {"kind": "es", "k": k}
            sid = scenario_set_id(self.version, ids, matrix, es)
            ss = {"version": self.version, "matrix": matrix, "id": sid.hex(), "model": es}
        else:
            matrix = self.matrix(scenarios)
            sid = scenario_set_id(self.version, ids, matrix)
            ss = {"version": self.version, "matrix": matrix, "id": sid.hex()}
        self.engine.settle(self.cycle, list(self.prices), ss,
                           self.op(settlement_message(self.cycle, self.prices, sid)), self.rid("settle"))
        self.sync()

    def run_cycle(self, scenarios: int, model: str = "scan") -> dict:
        """One timed cycle; returns phases (wall and CPU), results, digest."""
        from prover.distributed import DaskProver
        from prover.pool import shared_pool
        from zkp.statement_base import VALUES_PER_PROOF

        phases, cpu = {}, {}

        def timed(name, fn):
            t0, c0 = time.perf_counter(), time.process_time()
            out = fn()
            phases[name] = time.perf_counter() - t0
            cpu[name] = time.process_time() - c0
            return out

        timed("vm_update", lambda: self.settle(scenarios, model))
        cycle = self.cycle
        entries, sig = timed("prove", lambda: self.witness.margin_batch(cycle, self.accounts()))
        pool = shared_pool(self.witness.workers)
        dask = self.witness.executor if isinstance(self.witness.executor, DaskProver) else None
        chunked = model == "es" or scenarios > VALUES_PER_PROOF  # pool.needs_chunks: chunk jobs
        if dask is not None:
            cpu["prove"] += dask.last_cpu_s  # the workers' CPU time (the parent checked the results)
        elif chunked and pool.workers > 1:
            # the chunked path's last_cpu_s already counts the parent's witness work
            cpu["prove"] = max(cpu["prove"], pool.last_cpu_s)
        elif pool.workers > 1 and len(entries) > 1:
            cpu["prove"] += pool.last_cpu_s  # the workers' CPU time
        res = timed("verify", lambda: self._submit(cycle, entries, sig))
        t0, c0 = time.perf_counter(), time.process_time()
        batch = self.engine.margin_results(cycle, entries)
        batch_verify, batch_cpu = time.perf_counter() - t0, time.process_time() - c0
        closed = timed("close", lambda: self._close(cycle))
        results = res["results"]
        ok = (len(results) == len(self.members) and all(v == "pass" for v in results.values())
              and batch == results and bool(closed.get("digest")))
        w = max(1, len(dask.worker_pids()) if dask is not None else pool.workers)
        # what the cycle would take on an otherwise idle machine with W cores:
        # the parent's phases at their CPU time, proving at CPU time / W
        idle = sum(v for k, v in cpu.items() if k != "prove") + cpu["prove"] / min(w, len(entries) or 1)
        return {"phases_s": {k: round(v, 4) for k, v in phases.items()},
                "cpu_s": {k: round(v, 4) for k, v in cpu.items()},
                "total_s": round(sum(phases.values()), 4), "idle_estimate_s": round(idle, 4),
                "batch_verify_s": round(batch_verify, 4), "batch_verify_cpu_s": round(batch_cpu, 4),
                "results": results, "digest": closed.get("digest"), "ok": ok, "cycle": cycle,
                "dask": None if dask is None else {
                    k: (round(v, 4) if isinstance(v, float) else v)
                    for k, v in vars(dask.last_stats).items() if k != "workers"}}

    def _submit(self, cycle, entries, sig):
        res = self.engine.submit_margin_batch(cycle, entries, sig, self.rid("margin"))
        self.sync()
        return res

    def _close(self, cycle):
        closed = self.engine.close_cycle(cycle, self.rid("close"))
        self.sync()
        return closed

    def close(self) -> None:
        self.engine.close()


def run_cycles(members: int, instruments: int, scenarios_list, *, workers: int | None = None,
               backend: str | None = None, log=lambda msg: None, dask: str | None = None,
               margin_model: str = "scan") -> list[dict]:
    """Set up once, then run one timed cycle per entry of ``scenarios_list``
    (the setup does not depend on S).  Returns one report per cycle; with
    ``dask``, each cycle on the local pool and then on the Dask cluster,
    reported as the Dask row (module docstring)."""
    from prover.pool import default_workers, shared_pool
    from zkp.group import get_backend, use_backend
    from zkp.rangeproof import padded_m

    if members < 2 or instruments < 1 or any(s < 1 for s in scenarios_list):
        raise BenchError("a cycle needs at least 2 members, 1 instrument and 1 scenario")
    if margin_model not in ("scan", "es"):
        raise BenchError("the margin model is 'scan' or 'es'")
    w = default_workers() if workers is None else workers
    tmp = tempfile.mkdtemp(prefix="zkclear-cycle-")
    executor = None
    try:
        with use_backend(backend or get_backend().name) as b:
            t0 = time.perf_counter()
            sim = CycleSim(os.path.join(tmp, "ledger.db"), instruments, workers=w)
            log(f"[{b.name}] setup: {members} members, {instruments} instruments ...")
            sim.populate(members)
            setup = time.perf_counter() - t0
            values = max(scenarios_list) if margin_model == "scan" else 2 * max(scenarios_list) + 2
            need = 64 * padded_m(min(values, 64))
            t0 = time.perf_counter()
            shared_pool(w).start(need)
            pool_start = time.perf_counter() - t0
            dask_start = None
            if dask:
                t0 = time.perf_counter()
                executor = _dask_executor(dask, tmp)
                executor.start(need)
                dask_start = time.perf_counter() - t0
            out = []
            try:
                for s in scenarios_list:
                    log(f"[{b.name}] cycle {margin_model} M={members} I={instruments} S={s} W={w} ...")
                    r = sim.run_cycle(s, margin_model)
                    log(f"[{b.name}] ... {r['total_s']:.2f} s {r['phases_s']}")
                    local = None
                    if executor is not None:
                        local = r
                        sim.witness.executor = executor
                        try:
                            log(f"[{b.name}] the same cycle on Dask {dask} ...")
                            r = sim.run_cycle(s, margin_model)
                        finally:
                            sim.witness.executor = None
                        log(f"[{b.name}] ... {r['total_s']:.2f} s {r['phases_s']} {r['dask']}")
                    row = {"backend": b.name, "members": members, "instruments": instruments, "scenarios": s,
                           "margin_model": margin_model, "workers": w, "executor": f"dask {dask}" if dask else "pool",
                           "phases_s": r["phases_s"], "total_s": r["total_s"],
                           "cpu_s": r["cpu_s"], "idle_estimate_s": r["idle_estimate_s"],
                           "load_avg": list(os.getloadavg()),
                           "batch_verify_s": r["batch_verify_s"], "batch_verify_cpu_s": r["batch_verify_cpu_s"],
                           "ok": r["ok"], "cycle": r["cycle"],
                           "digest": r["digest"], "setup_s": round(setup, 3),
                           "pool_start_s": round(pool_start, 3),
                           "results": dict(__import__("collections").Counter(r["results"].values()))}
                    if local is not None:
                        row.update(dask_start_s=round(dask_start or 0.0, 3), dask=r["dask"],
                                   vs_local_pool=_compare(local, r, members))
                    out.append(row)
            finally:
                sim.close()
            return out
    finally:
        if executor is not None:
            executor.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _dask_executor(address: str, tmp: str):
    """A DaskProver for ``address`` with certificates of a throw-away Dask
    CA in ``tmp`` (a remote cluster needs its own: pass ``local:N``)."""
    from clearing.services.pki import dask_tls
    from prover.distributed import DaskProver, parse_address, tls_security

    if parse_address(address)[0] != "local":
        raise BenchError("bench cycle --dask takes 'local:N' (a remote cluster needs the prover's Dask CA)")
    tls = dask_tls(tmp)
    return DaskProver(address, tls_security(tls.ca_file, tls.cert_file, tls.key_file), deadline=86400)


def _compare(local: dict, dask: dict, members: int) -> dict:
    """The local pool's prove phase beside the Dask one's."""
    lw, dw = local["phases_s"]["prove"], dask["phases_s"]["prove"]
    return {"prove_s": lw, "prove_cpu_s": local["cpu_s"]["prove"], "total_s": local["total_s"],
            "phases_s": local["phases_s"], "cpu_s": local["cpu_s"], "idle_estimate_s": local["idle_estimate_s"],
            "batch_verify_s": local["batch_verify_s"], "ok": local["ok"],
            "members_per_s_local": round(members / lw, 3) if lw else None,
            "members_per_s_dask": round(members / dw, 3) if dw else None,
            "throughput_ratio": round(lw / dw, 3) if dw else None,
            "scheduling_overhead_s": round(dw - lw, 4),
            "cpu_overhead_s": round(dask["cpu_s"]["prove"] - local["cpu_s"]["prove"], 4)}


def run_cli(args: argparse.Namespace, log) -> int:
    rep = run_cycles(args.members, args.instruments, [args.scenarios], workers=args.workers,
                     backend=args.backend, log=log, dask=getattr(args, "dask", None),
                     margin_model=getattr(args, "margin_model", None) or "scan")[0]
    rep["machine"] = machine_description()
    keys = ("backend", "members", "instruments", "scenarios", "margin_model", "workers", "executor", "phases_s",
            "total_s", "idle_estimate_s", "batch_verify_s", "ok", "vs_local_pool")
    print(json.dumps({k: rep[k] for k in keys if k in rep}))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rep, fh, indent=2)
            fh.write("\n")
        log(f"wrote {args.json}")
    return 0 if rep["ok"] and rep.get("vs_local_pool", {}).get("ok", True) else 1
