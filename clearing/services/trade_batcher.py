"""Batched verification of trade validity proofs, off the engine thread.

SubmitTrade handlers hand their trade's (statement, proof) to one
:class:`TradeBatcher` thread before the request reaches the engine.  The
thread takes whatever has queued (up to :data:`MAX_BATCH` requests, waiting
at most ``window`` seconds for more after the first) and verifies them
together with :func:`verifier.statements.verify_many` -- one multi-scalar
multiplication; on failure the bisection names exactly the bad proofs.  The
good ones' :func:`~clearing.node.checks_capture.proof_key` go into the
engine's :class:`~clearing.node.checks_capture.VerifiedProofs`, so the
engine's trade check takes them without verifying again.

The batcher is an accelerator, never a gate: a proof it finds bad (or could
not decode, or missed for a timeout) is simply not vouched for, and the
engine's own check verifies it and refuses it exactly as before (INVALID_ARGUMENT,
"trade validity proof does not verify", after the same earlier checks in
the same order).  The statement is built from the ledger's cycle and the
cycle's opening seq read outside the engine thread; if the ledger moved on
in between, the key differs from the engine's and the engine verifies the
proof itself -- a stale read can cost time, never admit a proof.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from clearing.node.checks_capture import VerifiedProofs, proof_key
from clearing.protocol.fields import _point
from clearing.protocol.messages import trade_tuple
from clearing.protocol.statements import _proof, trade_statement
from verifier.statements import BatchVerificationError, verify_many
from zkp.errors import VerificationError, ZkclearError
from zkp.statements import Statement, StatementProof

log = logging.getLogger("zkclear.clearing")

#: Most proofs verified in one batch.
MAX_BATCH = 32
#: Seconds a handler waits for its batch's verdict before leaving the proof to the engine.
WAIT = 5.0


@dataclass
class _Item:
    key: bytes
    statement: Statement
    proof: StatementProof
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = False


class TradeBatcher:
    """One thread verifying queued trade proofs in batches into ``cache``.

    ``window``: seconds to wait for more requests after the first of a batch
    (0: take only what has queued meanwhile -- batches form by themselves
    under load, and a lone request waits for nobody)."""

    def __init__(self, cache: VerifiedProofs, *, window: float = 0.0, max_batch: int = MAX_BATCH):
        self.cache = cache
        self.window = window
        self.max_batch = max_batch
        #: batches verified and proofs found bad (for tests and benchmarks)
        self.batches = 0
        self.rejected = 0
        self._q: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="trade-batcher", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"TradeBatcher(window={self.window}, max_batch={self.max_batch})"

    def prepare(self, cycle: int, cycle_seq: int, initiator: str, trade: Mapping, proof: bytes) -> _Item | None:
        """The batch item of a trade (its T a Point or lower-case hex), or
        None when the proof cannot even be decoded (the engine refuses it)."""
        try:
            T = trade["T"]
            T_hex = T if isinstance(T, str) else T.encode().hex()
            tuple_bytes = trade_tuple(dict(trade, T=T_hex))
            st = trade_statement(cycle, cycle_seq, initiator, _point("T", T_hex), tuple_bytes)
            p = _proof(st, proof.hex())
        except (ZkclearError, KeyError, TypeError, ValueError, AttributeError):
            return None
        return _Item(proof_key(cycle, cycle_seq, initiator, T_hex, tuple_bytes, proof.hex()), st, p)

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
        self._q.put(None)
        self._thread.join(timeout=WAIT)

    def _loop(self) -> None:
        while True:
            first = self._q.get()
            if first is None:
                return
            batch = [first]
            end = time.monotonic() + self.window
            while len(batch) < self.max_batch:
                try:
                    left = end - time.monotonic()
                    nxt = self._q.get(timeout=left) if left > 0 else self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._q.put(None)  # stop after this batch
                    break
                batch.append(nxt)
            self._run(batch)

    def _run(self, batch: list[_Item]) -> None:
        bad: set[int] = set()
        try:
            verify_many([(it.statement, it.proof) for it in batch])
        except BatchVerificationError as exc:
            bad = set(exc.failed)
        except (VerificationError, ZkclearError, ValueError, TypeError) as exc:
            log.debug("trade proof batch not verified (%s); the engine verifies each", type(exc).__name__)
            bad = set(range(len(batch)))
        self.batches += 1
        self.rejected += len(bad)
        for i, it in enumerate(batch):
            if i not in bad:
                self.cache.add(it.key)
                it.ok = True
            it.done.set()


__all__ = ["TradeBatcher", "MAX_BATCH"]
