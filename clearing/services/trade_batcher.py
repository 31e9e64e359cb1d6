"""Batched verification of trade validity proofs, off the engine thread --
in worker processes when the node has them.

SubmitTrade handlers hand their trade's statement inputs and proof to one
:class:`TradeBatcher` thread before the request reaches the engine.  The
thread takes whatever has queued (up to :data:`MAX_BATCH` requests, waiting
at most ``window`` seconds for more after the first) and verifies them
together with :func:`verifier.statements.verify_many` -- one multi-scalar
multiplication; on failure the bisection names exactly the bad proofs.  The
good ones' :func:`~clearing.node.checks_capture.proof_key` go into the
engine's :class:`~clearing.node.checks_capture.VerifiedProofs`, so the
engine's trade check takes them without verifying again.

Where it runs.  With ``workers=0`` the batcher's thread decodes and
verifies (in the node's process, under its GIL).  With ``workers=W > 0``
the batches go to a pool of W worker processes (:class:`VerifyPool`, the
``forkserver`` start method, since the node runs gRPC threads): a batch is
sent as plain bytes and integers (:func:`verify_batch`: the statement's
public inputs -- cycle, the cycle's opening seq, the initiator, T, the trade
tuple -- and the proof), the worker rebuilds the statements, decodes the
proofs, runs :func:`~verifier.statements.verify_many` and answers the
indices of the bad ones; the decoding and the verification leave the
node's process.  Up to 2W batches are in flight; while they are, requests
queue and the next batch is larger.  Workers start with the node's group
backend and its generator vectors, and watch the node: a worker whose node
is gone (stopped, or killed with SIGKILL) exits within a second, and the
forkserver with it; :meth:`TradeBatcher.close` shuts the pool down and
waits for its workers.  A broken pool (a worker killed) fails its batches
-- their proofs are left to the engine -- and is replaced.

The batcher is an accelerator, never a gate: a proof it finds bad (or could
not decode, or missed for a timeout, or lost with a broken pool) is simply
not vouched for, and the engine's own check verifies it and refuses it
exactly as before (INVALID_ARGUMENT, "trade validity proof does not
verify", after the same earlier checks in the same order).  The statement
is built from the ledger's cycle and the cycle's opening seq read outside
the engine thread; if the ledger moved on in between, the key differs from
the engine's and the engine verifies the proof itself -- a stale read can
cost time, never admit a proof.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from clearing.node.checks_capture import VerifiedProofs, proof_key
from clearing.protocol.errors import InvalidArgument
from clearing.protocol.fields import _point
from clearing.protocol.messages import trade_tuple
from clearing.protocol.statements import _proof, trade_statement
from verifier.statements import BatchVerificationError, verify_many
from zkp.errors import VerificationError, ZkclearError
from zkp.generators import VectorSnapshot, generators, load_vector_snapshot, vector_snapshot
from zkp.group import get_backend, set_backend

log = logging.getLogger("zkclear.clearing")

#: Most proofs verified in one batch.
MAX_BATCH = 32
#: Seconds a handler waits for its batch's verdict before leaving the proof to the engine.
WAIT = 5.0
#: Generator-vector length a trade validity proof needs (the workers get them precomputed).
TRADE_VECTORS = 32

#: One proof to verify, as the workers get it: (cycle, cycle's opening seq,
#: initiator, T as hex, the trade tuple's bytes, the proof's bytes).
Raw = tuple[int, int, str, str, bytes, bytes]


@dataclass
class _Item:
    key: bytes
    raw: Raw
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = False


# -- the work (in the batcher's thread or in a worker process) ------------------------------

def verify_batch(raws: Sequence[Raw]) -> list[int]:
    """The indices of the proofs in ``raws`` that are not valid for their
    statements: undecodable ones, and those :func:`verify_many` names."""
    bad: list[int] = []
    items, where = [], []
    for i, (cycle, cycle_seq, initiator, T_hex, tuple_bytes, proof) in enumerate(raws):
        try:
            st = trade_statement(cycle, cycle_seq, initiator, _point("T", T_hex), tuple_bytes)
            items.append((st, _proof(st, proof.hex())))
            where.append(i)
        except (ZkclearError, InvalidArgument, KeyError, TypeError, ValueError):
            bad.append(i)
    if items:
        try:
            verify_many(items)
        except BatchVerificationError as exc:
            bad += [where[k] for k in exc.failed]
        except (VerificationError, ZkclearError, ValueError, TypeError):
            bad += where
    return sorted(bad)


def _watch_owner(owner_pid: int, interval: float = 1.0) -> None:
    """Worker side: exit when the node that owns the pool is gone (workers
    are the forkserver's children, not the node's, so nothing else tells
    them -- a node killed with SIGKILL runs no shutdown)."""
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


def _worker_init(backend_name: str, snapshot: VectorSnapshot, owner_pid: int) -> None:
    threading.Thread(target=_watch_owner, args=(owner_pid,), daemon=True, name="owner-watch").start()
    set_backend(backend_name)
    load_vector_snapshot(snapshot)
    generators().G_vec(TRADE_VECTORS)


def _ping(_: int) -> int:
    return os.getpid()


class VerifyPool:
    """W worker processes running :func:`verify_batch` (module docstring)."""

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"VerifyPool(workers={self.workers})"

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the verification pool is closed")
            if self._executor is None:
                generators().G_vec(TRADE_VECTORS)  # computed once here, copied by the workers
                ctx = multiprocessing.get_context("forkserver")
                self._executor = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_init,
                                                     initargs=(get_backend().name, vector_snapshot(), os.getpid()))
            return self._executor

    def start(self) -> list[int]:
        """Start the workers now (else on the first batch); their pids."""
        return sorted(set(self._pool().map(_ping, range(4 * self.workers))))

    def submit(self, raws: list[Raw]) -> Future:
        """A future of :func:`verify_batch` (``raws``) in a worker."""
        try:
            return self._pool().submit(verify_batch, raws)
        except BrokenProcessPool:
            self._discard()
            return self._pool().submit(verify_batch, raws)

    def _discard(self) -> None:
        """Drop a broken executor (a worker died); the next batch starts a new one."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            ex, self._executor = self._executor, None
        if ex is not None:
            ex.shutdown(wait=True, cancel_futures=True)


class TradeBatcher:
    """One thread verifying queued trade proofs in batches into ``cache``.

    ``window``: seconds to wait for more requests after the first of a batch
    (0: take only what has queued meanwhile -- batches form by themselves
    under load, and a lone request waits for nobody).  ``workers``: worker
    processes verifying the batches (0: the batcher's thread does)."""

    def __init__(self, cache: VerifiedProofs, *, window: float = 0.0, max_batch: int = MAX_BATCH,
                 workers: int = 0):
        self.cache = cache
        self.window = window
        self.max_batch = max_batch
        #: batches verified and proofs found bad (for tests and benchmarks)
        self.batches = 0
        self.rejected = 0
        self.pool = VerifyPool(workers) if workers > 0 else None
        #: batches in flight in the pool at most (while they are, the next batch grows)
        self._slots = threading.BoundedSemaphore(2 * workers if workers > 0 else 1)
        self._q: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        if self.pool is not None:
            self.pool.start()
        self._thread = threading.Thread(target=self._loop, name="trade-batcher", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"TradeBatcher(window={self.window}, max_batch={self.max_batch}, pool={self.pool!r})"

    def prepare(self, cycle: int, cycle_seq: int, initiator: str, trade: Mapping, proof: bytes) -> _Item | None:
        """The batch item of a trade (its T a Point or lower-case hex), or
        None when its fields are unusable (the engine refuses it)."""
        try:
            T = trade["T"]
            T_hex = T if isinstance(T, str) else T.encode().hex()
            tuple_bytes = trade_tuple(dict(trade, T=T_hex))
            raw: Raw = (int(cycle), int(cycle_seq), str(initiator), T_hex, tuple_bytes, bytes(proof))
        except (ZkclearError, KeyError, TypeError, ValueError, AttributeError):
            return None
        return _Item(proof_key(cycle, cycle_seq, initiator, T_hex, tuple_bytes, proof.hex()), raw)

    def verify(self, items: list[_Item], timeout: float = WAIT) -> list[bool]:
        """Queue ``items``, wait for their verdicts (True: verified and in the
        cache); an item not judged within ``timeout`` counts as False."""
        for it in items:
            self._q.put(it)
        end = time.monotonic() + timeout
        for it in items:
            it.done.wait(max(end - time.monotonic(), 0.0))
        return [it.done.is_set() and it.ok for it in items]

    def close(self) -> None:
        """Stop the thread, then the pool (waiting for its workers to exit)."""
        self._q.put(None)
        self._thread.join(timeout=WAIT)
        if self.pool is not None:
            self.pool.close()

    def _loop(self) -> None:
        while True:
            first = self._q.get()
            if first is None:
                return
            if self.pool is not None:
                self._slots.acquire()  # wait for a free slot before collecting: the batch grows meanwhile
            batch = [first]
            end = time.monotonic() + self.window
            stop = False
            while len(batch) < self.max_batch:
                try:
                    left = end - time.monotonic()
                    nxt = self._q.get(timeout=left) if left > 0 else self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            if self.pool is None:
                self._judge(batch, self._verify_here(batch))
            else:
                self._send(batch)
            if stop:
                return

    def _verify_here(self, batch: list[_Item]) -> set[int]:
        return set(verify_batch([it.raw for it in batch]))

    def _send(self, batch: list[_Item]) -> None:
        assert self.pool is not None
        try:
            fut = self.pool.submit([it.raw for it in batch])
        except (RuntimeError, OSError, BrokenProcessPool) as exc:
            log.warning("trade proof batch not sent to the verifiers (%s); the engine verifies each",
                        type(exc).__name__)
            self._slots.release()
            self._judge(batch, set(range(len(batch))))
            return

        def done(f: Future) -> None:
            self._slots.release()
            try:
                bad = set(f.result())
            except BrokenProcessPool:
                log.error("trade proof verification pool broken (a worker died); restarting it")
                self.pool._discard()  # type: ignore[union-attr]
                bad = set(range(len(batch)))
            except Exception as exc:  # noqa: BLE001 - cancelled at close, or a worker's failure: left to the engine
                log.debug("trade proof batch not verified (%s); the engine verifies each", type(exc).__name__)
                bad = set(range(len(batch)))
            self._judge(batch, bad)

        fut.add_done_callback(done)

    def _judge(self, batch: list[_Item], bad: set[int]) -> None:
        self.batches += 1
        self.rejected += len(bad)
        for i, it in enumerate(batch):
            if i not in bad:
                self.cache.add(it.key)
                it.ok = True
            it.done.set()


__all__ = ["TradeBatcher", "VerifyPool", "MAX_BATCH", "verify_batch"]
