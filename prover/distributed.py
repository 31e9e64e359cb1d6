"""Proving a cycle's margin jobs on a Dask ``distributed`` cluster (issue 13 §3).

The same unit of work as the local process pool (:mod:`prover.pool`): one
job per member, the bytes of :func:`prover.pool.encode_job` (the statement's
public data and the openings of that member's cash and positions), run on a
worker by :func:`prover.pool.prove_job`, answered with ``(solvency_only,
proof bytes)`` or None (insolvent).  :class:`DaskProver` has the pool's
interface (``prove_margins``, ``start``, ``close``, ``last_cpu_s``,
``last_unproven``), so the witness store uses either.

Chunk jobs.  When the statements span several range proofs (ES, large S)
and the members are fewer than twice the workers (``chunks="auto"``; or
"always"/"never"), one job per range proof instead, as the local pool does
for such statements: the prover computes each member's witness (ES: t, e_s
and their commitments; full, else solvency-only, else insolvent -- decided
on the openings) and the chunk jobs (:func:`prover.statements.chunk_jobs`:
the statement's seed, the chunk index, that chunk's derived values and
blindings), workers prove them (:func:`prover.pool.prove_chunk_job`), and
the prover assembles the member's proof and verifies it; a failure
resubmits that member's chunks.  One large member so uses every worker.

Trust.  The workers are inside the prover's trust domain: they receive
openings.  They receive them only over TLS: the address must be
``tls://HOST:PORT`` and the client's :class:`distributed.security.Security`
has ``require_encryption=True`` with certificates of the prover's own Dask
CA (:func:`clearing.services.pki.dask_tls`; Dask checks only that a peer
chains to the CA, so the CA is not the development CA that every party's
gRPC certificate chains to).  A worker is trusted with openings, but not
with the outcome: before a result is returned (and then signed by the
witness store) the prover checks it --

* a proof must decode and verify (:func:`verifier.statements.verify_many`
  on the statement it claims: the full one, or the solvency-only variant);
* a claim that a statement does not hold (solvency-only: the full statement
  fails; None: even solvency fails) is checked against the openings with
  integer work only, as the prover decides before proving (:func:`holds`:
  scan -- a derived value lies outside [0, 2^BITS); ES -- no witness t,
  e_s exists, :func:`prover.statements.es_witness`).

A result that fails its check is discarded and the job submitted again.

Failures and the deadline.  A worker lost mid-job (killed, out of memory,
its host gone) is handled by the scheduler, which runs the job again on
another worker (up to ``distributed.scheduler.allowed-failures`` times);
a job that raised is retried ``retries`` times by Dask (``submit(...,
retries=)``); a job that still fails (``KilledWorker``, an exception, a
cancellation) or whose result fails its check is resubmitted by the prover,
at most ``attempts`` times in all.  The whole batch has a deadline
(``deadline`` seconds, or earlier when ``not_after`` -- a
``time.monotonic()`` instant, set by the prover service from its caller's
gRPC deadline -- comes first): jobs not answered by then are cancelled and
their members are *unproven*: their result is None, exactly like an
insolvent member, so the margin batch carries no entry for them and the
clearing node treats them as it treats any member without a proof (a
payment default candidate, which a later cure proof can clear); their
indices are in ``last_unproven`` so the witness store logs them as unproven,
not insolvent.  A cycle therefore never waits forever.

Addresses.  ``tls://HOST:PORT``: connect to a running scheduler (its
workers started with certificates of the same Dask CA and with zkclear
installed).  ``local:N``: start an in-process :class:`distributed.LocalCluster`
with N single-threaded worker processes on 127.0.0.1, over TLS with the
same certificates (for tests, benchmarks and the demo).

Generators.  Workers get the prover's backend and a snapshot of its
generator vectors (:func:`zkp.generators.vector_snapshot`) from a worker
plugin registered with the scheduler (replaced when a cycle needs longer
vectors), so they skip hash-to-curve; the scheduler hands the plugin to
every worker that joins later too (a restarted one).  Not scattered data:
Dask's active memory manager soon keeps one replica of that, and losing the
worker holding it would cancel every job.  The LocalCluster's workers run
without Dask's stack sampler (a thread taking the GIL every 10 ms costs
CPU-bound jobs a few per cent); for a remote cluster set
``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False`` on the workers.  With
an injected (seeded) ``rng`` the batch is proved in process, in member
order, as by the local pool, so seeded runs stay reproducible.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from verifier.statements import BatchVerificationError, verify_many
from zkp.errors import DecodeError, ProvingError, VerificationError
from zkp.field import Rng
from zkp.generators import VectorSnapshot, generators, load_vector_snapshot, vector_snapshot
from zkp.group import get_backend, set_backend
from zkp.margin import MarginProof
from zkp.pedersen import Opening
from zkp.rangeproof import RangeProof, padded_m
from zkp.statements import Margin, StatementError, StatementProof

from .pool import (
    JobResult,
    encode_chunk_job,
    encode_job,
    needs_chunks,
    prove_chunk_job,
    prove_job,
    solvency_statement,
)
from .statements import ChunkJob, chunk_jobs, es_witness, margin_witness

log = logging.getLogger("zkclear.prover.distributed")

#: Seconds a cycle's batch may take before unanswered members are unproven.
DEFAULT_DEADLINE = 540.0
#: Dask retries of a job that raised (``client.submit(..., retries=)``).
DEFAULT_RETRIES = 2
#: Submissions of one job by the prover (a failed or rejected result is resubmitted).
DEFAULT_ATTEMPTS = 3
#: Seconds to connect to a scheduler / start a LocalCluster.
CONNECT_TIMEOUT = 60.0
MAX_LOCAL_WORKERS = 256
#: Results checked together (one batch verification) as they arrive; the
#: rest when the last job is in.
VERIFY_BATCH = 32


class DaskConfigError(ValueError):
    """A malformed Dask address or TLS configuration."""


def parse_address(address: str) -> tuple[str, str | int]:
    """``("tls", "tls://HOST:PORT")`` or ``("local", N)``; DaskConfigError
    otherwise (plain ``tcp://`` is refused: openings travel only over TLS)."""
    if not isinstance(address, str):
        raise DaskConfigError("the Dask address must be a string")
    if address.startswith("local:"):
        n = address[len("local:"):]
        if not n.isdigit() or not 1 <= int(n) <= MAX_LOCAL_WORKERS:
            raise DaskConfigError(f"'local:N' needs N in [1, {MAX_LOCAL_WORKERS}]")
        return "local", int(n)
    if address.startswith("tls://"):
        host, sep, port = address[len("tls://"):].rpartition(":")
        if sep and host and port.isdigit() and 0 < int(port) < 65536 and len(address) <= 300:
            return "tls", address
    raise DaskConfigError("the Dask address must be 'tls://HOST:PORT' or 'local:N' "
                          "(openings travel to workers only over TLS)")


def tls_security(ca_file, cert_file, key_file) -> Any:
    """The Security of every party of the cluster (scheduler, workers, the
    prover's client): one certificate of the prover's Dask CA, TLS required."""
    from distributed.security import Security
    files = {"ca": ca_file, "cert": cert_file, "key": key_file}
    for what, path in files.items():
        if not os.path.isfile(path):
            raise DaskConfigError(f"Dask TLS {what} file missing: {path}")
    ca, cert, key = (os.fspath(p) for p in (ca_file, cert_file, key_file))
    return Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key,
                    tls_scheduler_cert=cert, tls_scheduler_key=key,
                    tls_worker_cert=cert, tls_worker_key=key, require_encryption=True)


# -- the worker side -----------------------------------------------------------------

PLUGIN_NAME = "zkclear-generators"


def load_generators(backend: str, snapshot: VectorSnapshot) -> None:
    """Worker side: the prover's backend and generator vectors."""
    set_backend(backend)
    load_vector_snapshot(snapshot)
    n = max((len(v) for v in snapshot.values()), default=0)
    if n:
        generators().G_vec(n)  # build the Point vectors now, not inside the first job


def generators_plugin(backend: str, snapshot: VectorSnapshot) -> Any:
    """A ``distributed`` WorkerPlugin running :func:`load_generators` on every
    worker, present and future (the class is made here: ``distributed`` is
    imported only when a cluster is used)."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class Generators(WorkerPlugin):  # type: ignore[misc]
        name = PLUGIN_NAME

        def __init__(self) -> None:
            self.backend, self.snapshot = backend, snapshot

        def setup(self, worker: Any) -> None:
            load_generators(self.backend, self.snapshot)
            self.snapshot = {}  # held by the vector cache now; each worker unpickles its own copy

    return Generators()


def dask_prove_chunk(payload: bytes, backend: str) -> tuple[bytes, float, int]:
    """Worker entry point of a chunk job (:func:`prover.pool.prove_chunk_job`):
    (range proof bytes, CPU seconds, worker pid)."""
    if get_backend().name != backend:
        set_backend(backend)
    t0 = time.process_time()
    out = prove_chunk_job(payload)
    return out, time.process_time() - t0, os.getpid()


def dask_prove_job(payload: bytes, backend: str) -> tuple[JobResult, float, int]:
    """Worker entry point: :func:`prover.pool.prove_job` under the prover's
    backend; returns (result, CPU seconds, worker pid)."""
    if get_backend().name != backend:
        set_backend(backend)
    t0 = time.process_time()
    out = prove_job(payload)
    return out, time.process_time() - t0, os.getpid()


# -- checking a worker's result --------------------------------------------------------

def holds(st: Margin, openings: Sequence[Opening]) -> bool:
    """Whether ``st`` holds for the member's ``openings`` (cash, positions),
    by integer work only: ES -- the honest witness exists
    (:func:`prover.statements.es_witness`: the optimal t, so none exists when
    it fails); otherwise every derived value lies in [0, 2^BITS)."""
    try:
        if st.aux_count():
            es_witness(st, openings)
            return True
        derived = st.derive_values(openings)
    except (ProvingError, StatementError):
        return False
    bound = 1 << st.BITS
    return all(d.value < bound for d in derived)


def claim_ok(st: Margin, openings: Sequence[Opening], out: JobResult) -> bool:
    """A negative claim of a worker checked against the openings (the
    positive part, a proof, is verified separately): solvency-only means the
    full statement fails; None means even solvency fails."""
    if out is None:
        return not holds(solvency_statement(st), openings)
    solvency_only, _ = out
    if st.solvency_only and not solvency_only:
        return False  # a full proof of a solvency-only job
    if solvency_only and not st.solvency_only:
        return not holds(st, openings)
    return True


def claimed_statement(st: Margin, out: tuple[bool, bytes]) -> Margin:
    """The statement a result claims to prove (ES: without its aux
    commitments, which the proof carries)."""
    return solvency_statement(st) if out[0] and not st.solvency_only else st


def proved_statement(st: Margin, out: tuple[bool, bytes]) -> Margin:
    """The claimed statement completed with the proof's aux commitments (ES),
    as :meth:`prover.pool.ProverPool.prove_margins` returns it."""
    claimed = claimed_statement(st, out)
    if not claimed.aux_count():
        return claimed
    proof = StatementProof.from_bytes(out[1], claimed)
    return claimed.with_aux(proof.aux) if isinstance(proof, MarginProof) else claimed


def verify_results(items: Sequence[tuple[Margin, bytes]]) -> set[int]:
    """Indices of the (statement, proof bytes) that do not decode or verify."""
    return _verify(items)[0]


def _verify(items: Sequence[tuple[Margin, bytes]]) -> tuple[set[int], dict[int, Margin]]:
    """(indices that do not decode or verify, {index: the statement
    completed with its proof's aux commitments} for the others)."""
    bad: set[int] = set()
    decoded, where = [], []
    for k, (st, pb) in enumerate(items):
        try:
            decoded.append((st, StatementProof.from_bytes(pb, st)))
            where.append(k)
        except (DecodeError, StatementError, ValueError):
            bad.add(k)
    if decoded:
        try:
            verify_many(decoded)
        except BatchVerificationError as exc:
            bad.update(where[i] for i in exc.failed)
        except VerificationError:
            bad.update(where)
    done = {k: (st.with_aux(pr.aux) if st.aux_count() and isinstance(pr, MarginProof) else st)
            for k, (st, pr) in zip(where, decoded) if k not in bad}
    return bad, done


# -- the executor ------------------------------------------------------------------------

@dataclass
class BatchStats:
    """What the last batch cost (benchmarks; no secret, no member data)."""

    jobs: int = 0
    submitted: int = 0
    resubmitted: int = 0
    rejected: int = 0
    unproven: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    verify_s: float = 0.0
    workers: list[int] = field(default_factory=list)


class DaskProver:
    """Margin jobs on a Dask cluster (see the module docstring)."""

    def __init__(self, address: str, security: Any, *, deadline: float = DEFAULT_DEADLINE,
                 retries: int = DEFAULT_RETRIES, attempts: int = DEFAULT_ATTEMPTS, chunks: str = "auto") -> None:
        self.kind, self.target = parse_address(address)
        if security is None or not getattr(security, "require_encryption", False):
            raise DaskConfigError("a Dask cluster is used only with TLS (Security with require_encryption)")
        if not 0 < deadline <= 86400 or retries < 0 or attempts < 1 or chunks not in ("auto", "always", "never"):
            raise DaskConfigError("deadline must be in (0, 86400] s, retries >= 0, attempts >= 1, "
                                  "chunks auto|always|never")
        #: chunk jobs: "auto" (few members with multi-proof statements), "always", "never"
        self.chunks = chunks
        self.address = address
        self.security = security
        self.deadline = float(deadline)
        self.retries = int(retries)
        self.attempts = int(attempts)
        #: a time.monotonic() instant the batch must end by (the caller's deadline); None: none
        self.not_after: float | None = None
        self.cluster: Any = None
        self.client: Any = None
        self._snap_key: tuple[str, int] | None = None
        self.last_cpu_s = 0.0
        #: indices of the last batch's jobs left unproven (deadline or failures)
        self.last_unproven: frozenset[int] = frozenset()
        self.last_stats = BatchStats()
        self._round = 0
        #: the last batch's proved statements, completed with their aux commitments
        self._proved: dict[int, Margin] = {}
        #: the function a worker runs per job (tests swap in a faulty one)
        self.task: Callable[[bytes, str], tuple[JobResult, float, int]] = dask_prove_job
        self.task_chunk: Callable[[bytes, str], tuple[bytes, float, int]] = dask_prove_chunk

    def __repr__(self) -> str:
        return f"DaskProver(address={self.address!r})"

    # -- lifecycle
    def start(self, vectors: int = 0) -> None:
        """Connect (``local:N``: start the LocalCluster first); idempotent.
        ``vectors``: hand workers generator vectors of at least this length now."""
        if self.client is None:
            from distributed import Client, LocalCluster
            if self.kind == "local":
                import dask
                # the workers' stack sampler (every 10 ms, under the GIL) costs CPU-bound jobs time
                with dask.config.set({"distributed.worker.profile.enabled": False}):
                    self.cluster = LocalCluster(
                        n_workers=int(self.target), threads_per_worker=1, processes=True, host="127.0.0.1",
                        protocol="tls://", security=self.security, silence_logs=logging.WARNING,
                        # the nodes' plain-HTTP endpoints (health, metrics) on loopback only
                        dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0")
                target: Any = self.cluster
            else:
                target = self.target
            try:
                self.client = Client(target, security=self.security, timeout=CONNECT_TIMEOUT,
                                     set_as_default=False)
            except BaseException:
                self._close_cluster()
                raise
            log.info("margin proving on Dask at %s (%d workers)", self.scheduler_address,
                     len(self.worker_pids()))
        if vectors:
            self._vectors(vectors)

    @property
    def scheduler_address(self) -> str:
        return self.client.scheduler.address if self.client is not None else self.address

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> pid (tests and benchmarks)."""
        return dict(self.client.run(os.getpid))

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            finally:
                self.client = None
                self._snap_key = None
        self._close_cluster()

    def _close_cluster(self) -> None:
        if self.cluster is not None:
            try:
                self.cluster.close()
            finally:
                self.cluster = None

    def _vectors(self, n: int) -> None:
        """Workers hold this backend's generator vectors of length >= ``n``."""
        name = get_backend().name
        if self._snap_key is None or self._snap_key[0] != name or self._snap_key[1] < n:
            n = max(n, self._snap_key[1] if self._snap_key and self._snap_key[0] == name else 0)
            generators().G_vec(n)
            self.client.register_plugin(generators_plugin(name, vector_snapshot()), name=PLUGIN_NAME)
            self._snap_key = (name, n)

    # -- proving
    def prove_margins(self, jobs: Sequence[tuple[Margin, Sequence[Opening]]], *,
                      rng: Rng | None = None) -> list[tuple[Margin, bytes] | None]:
        """As :meth:`prover.pool.ProverPool.prove_margins`, on the cluster;
        a member left unproven (deadline, failures) gets None and its index
        is in :attr:`last_unproven`."""
        t_wall = time.monotonic()
        end = t_wall + self.deadline
        if self.not_after is not None:
            end = min(end, self.not_after)
        payloads = [encode_job(st, ops) for st, ops in jobs]
        stats = BatchStats(jobs=len(jobs))
        self._proved = {}
        if rng is not None:  # seeded: in process, in order (reproducible)
            t0 = time.process_time()
            outs: dict[int, JobResult] = {i: prove_job(p, rng) for i, p in enumerate(payloads)}
            stats.cpu_s = time.process_time() - t0
        else:
            outs = self._run(jobs, payloads, end, stats) if jobs else {}
        unproven = frozenset(i for i in range(len(jobs)) if i not in outs)
        stats.unproven, stats.wall_s = len(unproven), time.monotonic() - t_wall
        self.last_unproven, self.last_stats, self.last_cpu_s = unproven, stats, stats.cpu_s
        res: list[tuple[Margin, bytes] | None] = []
        for i, (st, _) in enumerate(jobs):
            out = outs.get(i)
            res.append(None if out is None else (self._proved.get(i) or proved_statement(st, out), out[1]))
        return res

    def _run(self, jobs, payloads: list[bytes], end: float, stats: BatchStats) -> dict[int, JobResult]:
        """Per-member jobs (or chunk jobs, :meth:`_use_chunks`) until every
        member's result is in and checked or the deadline passes; returns
        {job index: checked result}."""
        self.start()
        need = max(st.BITS * padded_m(len(ch)) for st, _ in jobs for ch in st.range_chunks())
        self._vectors(need)
        if self._use_chunks(jobs):
            return self._run_chunks(jobs, end, stats)
        outs: dict[int, JobResult] = {}

        def accept(arrived: list[tuple[int, Any]]) -> list[int]:
            t0 = time.process_time()
            proofs = [(i, out) for i, out in arrived if out is not None]
            failed, done = _verify([(claimed_statement(jobs[i][0], out), out[1]) for i, out in proofs])
            bad = {proofs[k][0] for k in failed}
            redo = []
            for i, out in arrived:
                st, openings = jobs[i]
                if i in bad or not claim_ok(st, openings, out):
                    stats.rejected += 1
                    redo.append(i)
                else:
                    outs[i] = out
            for k, st in done.items():
                self._proved[proofs[k][0]] = st
            stats.verify_s += time.process_time() - t0
            return redo

        self._drive(payloads, self.task, end, stats, accept, "margin job")
        return outs

    def _use_chunks(self, jobs) -> bool:
        """Chunk jobs when statements span several range proofs (ES, large
        S) and members are too few to keep every worker busy; ``chunks``
        "always"/"never" forces the choice."""
        if self.chunks != "auto":
            return self.chunks == "always" and any(needs_chunks(st) for st, _ in jobs)
        if not any(needs_chunks(st) for st, _ in jobs):
            return False
        return len(jobs) < 2 * max(1, len(self.client.scheduler_info().get("workers", {})))

    def _run_chunks(self, jobs, end: float, stats: BatchStats) -> dict[int, JobResult]:
        """One job per range proof: the parent computes each member's witness
        (ES: t, e_s and their commitments; full, else solvency-only, else
        insolvent -- decided here, on the openings) and the chunk jobs
        (:func:`prover.statements.chunk_jobs`: seed, index, derived values
        and blindings); workers prove chunks; the parent assembles each
        member's proof and verifies it before keeping it (a failure
        resubmits that member's chunks)."""
        outs: dict[int, JobResult] = {}
        plans: dict[int, tuple[Margin, list[ChunkJob]]] = {}
        t0 = time.process_time()
        for i, (st, ops) in enumerate(jobs):
            for cand in (st, solvency_statement(st)):
                try:
                    full, _, derived = margin_witness(cand, ops)
                except ProvingError:
                    continue
                plans[i] = (full, chunk_jobs(full, derived))
                break
            else:
                outs[i] = None  # insolvent, decided on the openings
        stats.cpu_s += time.process_time() - t0
        units = [(i, k) for i, (_, cj) in plans.items() for k in range(len(cj))]
        payloads = [encode_chunk_job(plans[i][1][k]) for i, k in units]
        got: dict[int, dict[int, bytes]] = {i: {} for i in plans}

        def accept(arrived: list[tuple[int, Any]]) -> list[int]:
            redo: list[int] = []
            for u, pb in arrived:
                i, k = units[u]
                got[i][k] = pb
                full, cj = plans[i]
                if len(got[i]) < len(cj):
                    continue
                t1 = time.process_time()
                try:
                    proofs = tuple(RangeProof.from_bytes(got[i][j], c.bits, len(c.values)) for j, c in enumerate(cj))
                    data = MarginProof(proofs, full.aux).to_bytes()
                    ok = not verify_results([(full.with_aux(()), data)])
                except (DecodeError, ValueError):
                    ok = False
                stats.verify_s += time.process_time() - t1
                if ok:
                    outs[i] = (full.solvency_only, data)
                    self._proved[i] = full
                else:
                    stats.rejected += 1
                    got[i] = {}
                    redo += [v for v, (m, _) in enumerate(units) if m == i]
            return redo

        if units:
            self._drive(payloads, self.task_chunk, end, stats, accept, "margin chunk job")
        return outs

    def _drive(self, payloads: list[bytes], task: Callable[..., Any], end: float, stats: BatchStats,
               accept: Callable[[list[tuple[int, Any]]], list[int]], what: str) -> None:
        """Submit ``task(payload, backend)`` for every payload (a *unit*) and
        hand the arrived values, in batches of [(unit, value)], to
        ``accept``, which returns the units to submit again; a unit whose
        job failed on the cluster is submitted again too, each at most
        ``attempts`` times in all.  Returns when no unit is pending or at
        ``end`` (the pending ones are cancelled)."""
        from distributed import as_completed
        backend = get_backend().name
        self._round += 1
        tag = f"{os.getpid()}-{self._round}"
        tries = [0] * len(payloads)
        pending: dict[Any, int] = {}
        pids: set[int] = set()

        def submit(u: int) -> Any:
            tries[u] += 1
            stats.submitted += 1
            stats.resubmitted += tries[u] > 1
            fut = self.client.submit(task, payloads[u], backend, key=f"zkclear-margin-{tag}-{u}-{tries[u]}",
                                     retries=self.retries, pure=False)
            pending[fut] = u
            return fut

        def again(u: int, why: str) -> None:
            if tries[u] < self.attempts and time.monotonic() < end:
                log.warning("%s %d: %s; submitting it again", what, u, why)
                ready.add(submit(u))
            else:
                log.error("%s %d: %s; no attempts left: unproven", what, u, why)

        def check(arrived: list[tuple[int, Any]]) -> None:
            for u in accept(arrived):
                again(u, "a worker's result failed the prover's check")

        for u in range(len(payloads)):
            submit(u)
        ready = as_completed(list(pending), loop=self.client.loop, timeout=max(0.0, end - time.monotonic()))
        arrived: list[tuple[int, Any]] = []  # checked in batches: batch verification shares its work
        try:
            while pending:
                try:
                    done = ready.next_batch(block=True)
                except (TimeoutError, StopIteration):
                    break
                for fut in done:
                    u = pending.pop(fut)
                    if fut.status == "finished":
                        value, cpu, pid = fut.result()
                        stats.cpu_s += cpu
                        pids.add(pid)
                        arrived.append((u, value))
                    else:
                        again(u, f"the job failed on the cluster ({fut.status})")
                if len(arrived) >= VERIFY_BATCH or not pending:
                    batch, arrived = arrived, []
                    check(batch)
            if arrived:  # the deadline passed: what arrived in time still counts
                check(arrived)
        finally:
            if pending:
                log.error("margin batch deadline: %d of %d %ss unanswered: unproven", len(pending),
                          len(payloads), what)
                self.client.cancel(list(pending))
        stats.workers = sorted(set(stats.workers) | pids)


def open_prover(address: str, security: Any, *, deadline: float = DEFAULT_DEADLINE,
                start: bool = True) -> DaskProver:
    """A :class:`DaskProver` for ``address``, connected unless ``start`` is false."""
    dp = DaskProver(address, security, deadline=deadline)
    if start:
        dp.start()
    return dp


__all__ = ["DaskProver", "DaskConfigError", "BatchStats", "parse_address", "tls_security", "open_prover",
           "dask_prove_job", "dask_prove_chunk", "claim_ok", "holds", "verify_results", "DEFAULT_DEADLINE"]
