"""Proving independent members' margin proofs in a process pool.

A cycle's margin proofs are independent (one statement per member, never
aggregated across members -- DESIGN §8), so they parallelise perfectly:
W worker processes each take one member at a time.

What a worker gets and returns
------------------------------
Only what one proof needs, as bytes (:func:`encode_job`): the statement's
public data (cycle, account version, member id, the encoded cash and
position commitments, the scenario matrix, the scenario set id, the
solvency-only flag) and the openings of that member's cash and positions.
No ledger state, no keys, no other member's data.  The worker rebuilds the
:class:`~zkp.statements.Margin` statement, runs the very same
:func:`prover.statements.prove_margin_or_solvency` as the in-process path
(full proof if it holds, else solvency-only, else none) with fresh CSPRNG
randomness, and returns ``(solvency_only, proof bytes)`` or ``None``
(insolvent).  The proofs verify exactly like in-process proofs; only their
randomness differs, as between any two proving runs.

Chunk jobs (ES and large statements)
------------------------------------
An ES statement (or any margin statement of more than one range proof) is
proved chunk by chunk (:func:`prove_margins_chunked`): the parent computes
the member's witness and derived openings (O(S*I) integer work, and for ES
the S + 1 commitments T, E_s), then each chunk travels as
(:func:`encode_chunk_job`) the statement's 64-byte seed, the chunk index,
the bit size and that chunk's derived values and blindings -- no matrix, no
statement, nothing of any other chunk -- and comes back as the encoded
range proof (:func:`prove_chunk_job`).  One large member so uses every
worker.

Processes
---------
The pool is persistent (started once, reused every cycle: :func:`shared_pool`)
and uses the ``forkserver`` start method: the prover service runs gRPC
threads, which must not be forked.  Workers start with the parent's group
backend and a snapshot of its generator vectors
(:func:`zkp.generators.vector_snapshot`), so they skip hash-to-curve.

``workers`` defaults to ``$ZKCLEAR_PROVER_WORKERS`` or ``os.cpu_count()``.
With one worker, one job, or an injected (seeded) rng, proving runs in
process, in member order, so seeded test runs stay reproducible.
"""
from __future__ import annotations

import atexit
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypedDict

from zkp.errors import ProvingError
from zkp.field import Rng
from zkp.generators import VectorSnapshot, generators, load_vector_snapshot, vector_snapshot
from zkp.group import Backend, Point, get_backend, set_backend
from zkp.margin import MarginModel, MarginProof
from zkp.pedersen import Opening
from zkp.rangeproof import RangeProof, padded_m
from zkp.statements import Context, Margin

from .statements import ChunkJob, ChunkMapper, chunk_jobs, margin_witness, prove_chunk, prove_margin_or_solvency

log = logging.getLogger("zkclear.prover.pool")

WORKERS_ENV = "ZKCLEAR_PROVER_WORKERS"


def default_workers() -> int:
    env = os.environ.get(WORKERS_ENV)
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"{WORKERS_ENV} must be a positive integer, got {env!r}") from None
        if n < 1:
            raise ValueError(f"{WORKERS_ENV} must be a positive integer, got {env!r}")
        return n
    return os.cpu_count() or 1


# -- the job encoding (bytes both ways) ----------------------------------------------

class _Job(TypedDict):
    """The JSON object of one job: bytes and points as hex, the openings as
    [value, blinding] pairs of decimal strings, the model as the signed set
    carries it ({"kind": "scan"} or {"kind": "es", "k": k})."""

    cycle: int
    seq: int
    member: str
    cash: str
    positions: list[str]
    matrix: list[list[int]]
    set_id: str
    solvency_only: bool
    model: dict[str, str | int]
    openings: list[list[str]]


def encode_job(st: Margin, openings: Sequence[Opening]) -> bytes:
    """One member's margin job: the statement's public data and the openings
    of its sources (cash, then positions)."""
    if type(st) is not Margin:
        raise ProvingError("margin jobs carry Margin statements only")
    job: _Job = {
        "cycle": st.context.cycle, "seq": st.context.seq, "member": st.context.member.hex(),
        "cash": st.cash.encode().hex(), "positions": [p.encode().hex() for p in st.positions],
        "matrix": [list(r) for r in st.matrix], "set_id": bytes(st.scenario_set_id).hex(),
        "solvency_only": st.solvency_only, "model": st.model.to_dict(),
        "openings": [[str(o.value), str(o.blinding)] for o in openings],
    }
    return json.dumps(job, separators=(",", ":")).encode()


def decode_job(data: bytes, backend: Backend | None = None) -> tuple[Margin, list[Opening]]:
    d: _Job = json.loads(data)

    def pt(h: str) -> Point:
        return Point.decode(bytes.fromhex(h), allow_identity=True, backend=backend)

    st = Margin(Context(d["cycle"], d["seq"], bytes.fromhex(d["member"])), pt(d["cash"]),
                tuple(pt(h) for h in d["positions"]), tuple(tuple(r) for r in d["matrix"]),
                bytes.fromhex(d["set_id"]), d["solvency_only"],
                model=MarginModel.from_dict(d.get("model", {"kind": "scan"})))
    return st, [Opening(int(v), int(b)) for v, b in d["openings"]]


def solvency_statement(st: Margin) -> Margin:
    return st.solvency()


# -- chunk jobs: one range proof of a (large) member's statement ------------------------

def encode_chunk_job(job: ChunkJob) -> bytes:
    """A chunk job as bytes: {"seed": hex, "index", "bits", "values" and
    "blindings" as decimal strings} -- openings only, no statement data."""
    return json.dumps({"seed": job.seed.hex(), "index": job.index, "bits": job.bits,
                       "values": [str(v) for v in job.values], "blindings": [str(b) for b in job.blindings]},
                      separators=(",", ":")).encode()


def decode_chunk_job(data: bytes) -> ChunkJob:
    d = json.loads(data)
    return ChunkJob(bytes.fromhex(d["seed"]), int(d["index"]), tuple(int(v) for v in d["values"]),
                    tuple(int(b) for b in d["blindings"]), int(d["bits"]))


def prove_chunk_job(data: bytes, rng: Rng | None = None) -> bytes:
    """Run one chunk job: the encoded range proof (worker entry point)."""
    return prove_chunk(decode_chunk_job(data), rng=rng).to_bytes()


def _prove_chunk_timed(data: bytes) -> tuple[bytes, float]:
    t0 = time.process_time()
    out = prove_chunk_job(data)
    return out, time.process_time() - t0


def _run_chunks(pool: ProverPool, payloads: list[bytes], vectors: int) -> list[tuple[bytes, float]]:
    """Encoded chunk jobs through the pool's workers, in order; a broken
    pool (a worker died) is replaced and the jobs run once more."""
    try:
        return list(pool._pool(vectors).map(_prove_chunk_timed, payloads, chunksize=1))
    except BrokenProcessPool:
        log.error("margin proving pool broken (a worker died); restarting it")
        pool._discard()
        return list(pool._pool(vectors).map(_prove_chunk_timed, payloads, chunksize=1))


def chunk_mapper(pool: ProverPool) -> ChunkMapper:
    """A ``map_chunks`` for :func:`prover.statements.prove_margin`: one
    member's chunks proved in parallel on ``pool``'s workers (in process with
    one worker).  Sets ``pool.last_cpu_s`` to the workers' CPU seconds."""
    def run(jobs: list[ChunkJob]) -> list[RangeProof]:
        if pool.workers == 1:
            t0 = time.process_time()
            out = [prove_chunk(j) for j in jobs]
            pool.last_cpu_s = time.process_time() - t0
            return out
        need = max(j.bits * padded_m(len(j.values)) for j in jobs)
        timed = _run_chunks(pool, [encode_chunk_job(j) for j in jobs], need)
        pool.last_cpu_s = sum(c for _, c in timed)
        return [RangeProof.from_bytes(b, j.bits, len(j.values)) for (b, _), j in zip(timed, jobs)]
    return run


def needs_chunks(st: Margin) -> bool:
    """ES statements and statements of more than one range proof are proved
    chunk by chunk (:func:`prove_margins_chunked`)."""
    return st.model.kind != "scan" or len(st.range_chunks()) > 1


def _vectors_needed(jobs: Sequence[tuple[Margin, Sequence[Opening]]]) -> int:
    return max(st.BITS * padded_m(len(ch)) for st, _ in jobs for ch in st.range_chunks())


def prove_margins_chunked(pool: ProverPool, jobs: Sequence[tuple[Margin, Sequence[Opening]]], *,
                          rng: Rng | None = None) -> list[tuple[Margin, bytes] | None]:
    """Prove margin jobs chunk by chunk: the parent computes each member's
    witness (ES: t, e_s and their commitments; the full statement, else the
    solvency-only one, else none) and submits every chunk of every member to
    the pool as soon as it is known, so one large member uses every worker
    and witness work overlaps proving.  Same results as
    :meth:`ProverPool.prove_margins`."""
    t0 = time.process_time()
    if pool.workers == 1 or rng is not None:
        outs: list[tuple[Margin, bytes] | None] = []
        for st, ops in jobs:
            try:
                proved, proof = prove_margin_or_solvency(st, ops, rng=rng)
            except ProvingError:
                outs.append(None)
                continue
            outs.append((proved, proof.to_bytes()))
        pool.last_cpu_s = time.process_time() - t0
        return outs
    plans: list[tuple[Margin, list[ChunkJob]] | None] = []
    for st, ops in jobs:
        plan = None
        for cand in (st, st.solvency()):
            try:
                full, _, derived = margin_witness(cand, ops)
            except ProvingError:
                continue
            plan = (full, chunk_jobs(full, derived))
            break
        plans.append(plan)
    payloads = [encode_chunk_job(j) for plan in plans if plan for j in plan[1]]
    timed = _run_chunks(pool, payloads, _vectors_needed(jobs))
    pool.last_cpu_s = time.process_time() - t0 + sum(c for _, c in timed)
    res: list[tuple[Margin, bytes] | None] = []
    it = iter(timed)
    for plan in plans:
        if plan is None:
            res.append(None)
            continue
        full, cjobs = plan
        proofs = tuple(RangeProof.from_bytes(next(it)[0], j.bits, len(j.values)) for j in cjobs)
        res.append((full, MarginProof(proofs, full.aux).to_bytes()))
    return res


#: A job's outcome: ``(solvency_only, proof bytes)``, or None when insolvent.
JobResult = tuple[bool, bytes] | None


def prove_job(data: bytes, rng: Rng | None = None) -> JobResult:
    """Run one job: ``(solvency_only, proof bytes)``, or None when even
    solvency fails.  The worker entry point (also used in process)."""
    st, openings = decode_job(data)
    try:
        proved, proof = prove_margin_or_solvency(st, openings, rng=rng)
    except ProvingError:
        return None
    return proved.solvency_only, proof.to_bytes()


def _prove_job_timed(data: bytes) -> tuple[JobResult, float]:
    """Worker entry point: :func:`prove_job` and the CPU seconds it took
    (benchmarks report CPU time next to wall time on a loaded machine)."""
    t0 = time.process_time()
    out = prove_job(data)
    return out, time.process_time() - t0


def _watch_owner(owner_pid: int, interval: float = 1.0) -> None:
    """Worker side: exit when the process that owns the pool is gone.

    Workers are children of the forkserver, not of the owner, and hold the
    forkserver's liveness pipe open; without this, a prover killed with
    SIGKILL (or exiting without running atexit) would leave the forkserver
    and its idle workers behind forever."""
    while True:
        time.sleep(interval)
        if not _process_alive(owner_pid):
            os._exit(0)


def _process_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie -- dead, not yet reaped -- is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True


def _worker_init(backend_name: str, snapshot: VectorSnapshot, owner_pid: int | None = None) -> None:
    if owner_pid:
        threading.Thread(target=_watch_owner, args=(owner_pid,), daemon=True, name="owner-watch").start()
    set_backend(backend_name)
    load_vector_snapshot(snapshot)
    gs = generators()
    n = max((len(v) for v in snapshot.values()), default=0)
    if n:
        gs.G_vec(n)  # build the Point vectors now, not inside the first job


# -- the pool ------------------------------------------------------------------------

class ProverPool:
    """A persistent process pool proving margin jobs (see module docstring)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else int(workers)
        if self.workers < 1:
            raise ValueError("workers must be >= 1")
        self._executor: ProcessPoolExecutor | None = None
        self._backend: str | None = None
        self._vectors = 0
        #: CPU seconds the last prove_margins spent proving (all processes)
        self.last_cpu_s = 0.0
        #: indices of the last batch's jobs left unproven: always none here
        #: (the Dask executor, prover/distributed.py, has a deadline)
        self.last_unproven: frozenset[int] = frozenset()
        self._lock = threading.Lock()

    def _pool(self, vectors: int = 0) -> ProcessPoolExecutor:
        """The executor; (re)started when the backend changed or workers
        would lack generator vectors of length ``vectors``."""
        name = get_backend().name
        gs = generators()
        with self._lock:
            if self._executor is not None and (self._backend != name or self._vectors < vectors):
                self._executor.shutdown(wait=True)
                self._executor = None
            if self._executor is None:
                n = max(vectors, self._vectors)
                gs.G_vec(n)  # computed once here, copied by the workers
                ctx = multiprocessing.get_context("forkserver")
                self._executor = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_init,
                                                     initargs=(name, vector_snapshot(), os.getpid()))
                self._backend, self._vectors = name, n
            return self._executor

    def start(self, vectors: int = 0) -> None:
        """Start the workers now (otherwise at the first parallel batch),
        with generator vectors of at least ``vectors`` entries."""
        if self.workers > 1:
            ex = self._pool(vectors)
            list(ex.map(_ping, range(2 * self.workers)))

    def prove_margins(self, jobs: Sequence[tuple[Margin, Sequence[Opening]]], *,
                      rng: Rng | None = None) -> list[tuple[Margin, bytes] | None]:
        """Prove every (statement, openings) job; returns, in job order,
        ``(statement proved, proof bytes)`` -- the statement being the
        solvency-only variant when only solvency holds -- or None."""
        if any(needs_chunks(st) for st, _ in jobs):  # ES or large: chunk jobs (see the function)
            return prove_margins_chunked(self, jobs, rng=rng)
        payloads = [encode_job(st, ops) for st, ops in jobs]
        if self.workers == 1 or len(jobs) < 2 or rng is not None:
            t0 = time.process_time()
            outs = [prove_job(p, rng) for p in payloads]
            self.last_cpu_s = time.process_time() - t0
        else:
            need = max(st.BITS * padded_m(len(st.matrix)) for st, _ in jobs)
            try:
                timed = list(self._pool(need).map(_prove_job_timed, payloads, chunksize=1))
            except BrokenProcessPool:
                # a worker died (killed, out of memory): drop the broken
                # executor and run the batch once more on a fresh one
                log.error("margin proving pool broken (a worker died); restarting it")
                self._discard()
                timed = list(self._pool(need).map(_prove_job_timed, payloads, chunksize=1))
            outs = [o for o, _ in timed]
            self.last_cpu_s = sum(c for _, c in timed)
        res: list[tuple[Margin, bytes] | None] = []
        for (st, _), out in zip(jobs, outs):
            if out is None:
                res.append(None)
                continue
            solvency_only, proof = out
            res.append((solvency_statement(st) if solvency_only and not st.solvency_only else st, proof))
        return res

    def _discard(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None


def _ping(_: int) -> int:
    return os.getpid()


_SHARED: dict[int, ProverPool] = {}
_SHARED_LOCK = threading.Lock()


def shared_pool(workers: int | None = None) -> ProverPool:
    """The process-wide pool for ``workers`` (default :func:`default_workers`)."""
    w = default_workers() if workers is None else int(workers)
    with _SHARED_LOCK:
        pool = _SHARED.get(w)
        if pool is None:
            pool = _SHARED[w] = ProverPool(w)
        return pool


@atexit.register
def _close_shared() -> None:
    for pool in list(_SHARED.values()):
        pool.close()


__all__ = ["ProverPool", "shared_pool", "default_workers", "encode_job", "decode_job", "prove_job", "WORKERS_ENV",
           "encode_chunk_job", "decode_chunk_job", "prove_chunk_job", "prove_margins_chunked", "needs_chunks",
           "chunk_mapper"]
