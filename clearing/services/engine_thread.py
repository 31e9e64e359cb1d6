"""The engine's thread, with group commit of the ledger and the head marker.

The engine and its SQLite connection live in one dedicated thread; every
gRPC handler submits its engine call there (:meth:`EngineThread.run`) and
waits.  That serialises all ledger writes and respects sqlite3's thread
affinity.

Group commit: the thread takes every call queued for it (up to
:data:`GROUP_MAX`) and runs them one after the other inside one group
(:meth:`~clearing.node.engine.Engine.begin_group`): each event a call
commits is a savepoint of the group's one SQLite transaction -- a refused
or failed event rolls back only itself (its writes and its fold), and the
group goes on.  Then the group commits once (synchronous=FULL:
:meth:`~clearing.node.engine.Engine.end_group`), the head marker is written
once (:meth:`~clearing.node.engine.Engine.flush_marker`), and only then are
the group's callers answered.  If the commit fails (a full disk:
RESOURCE_EXHAUSTED; an I/O error), every call of the group fails with that
error and nothing of the group is applied (the engine undid its folds); the
node goes on with the next group.  If the marker write fails, every call of
the group fails too (its committed events stand; a retry with the same
request id gets the recorded result).  Every answer, even a read's, waits
for the commit: a read in a group may have seen the group's uncommitted
events.  The durability argument is in :mod:`clearing.node.marker`.

Notices (:meth:`EngineThread.after_flush`): what the engine thread wants
to tell others about a commit -- a trade newly pending for a member,
pushed to that member's streams -- waits for the group's commit and the
marker write that covers it, like an answer; the notices of a group whose
commit failed are dropped (their events are gone); a notice whose marker
write failed waits for the next one that succeeds.

The ledger's tail (:class:`EventTail`): after each successful marker write
the thread copies the events committed since the last one -- seq, the
canonical body (the bytes the chain hashes), the chain hash -- into a
bounded in-memory tail (the last :data:`TAIL_EVENTS` events).  Readers of
the recent ledger (the prover following it through the ledger feed) are
served from the tail without waiting for the engine thread, which may be
busy with a group of durable writes; they see exactly the events the head
marker covers, in order, as an engine read after that write would have
returned them.  A reader further behind than the tail reads through the
engine as before.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from clearing.node.engine import Engine
from clearing.protocol.encoding import canonical

log = logging.getLogger("zkclear.clearing")

#: Most queued engine calls run before one head-marker write (group commit).
GROUP_MAX = 64
#: Events the in-memory tail of the ledger keeps.
TAIL_EVENTS = 4096


class EventTail:
    """The last events covered by the head marker: (seq, canonical body,
    chain hash), contiguous, ending at :attr:`last` (module docstring)."""

    def __init__(self, last: int, capacity: int = TAIL_EVENTS):
        self.capacity = capacity
        self._events: deque[tuple[int, bytes, bytes]] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        #: the seq of the last event covered (the tail ends there)
        self.last = last

    def __repr__(self) -> str:
        return f"EventTail(last={self.last}, held={len(self._events)})"

    def extend(self, events: list[tuple[int, bytes, bytes]]) -> None:
        """Append the events after :attr:`last` (they must follow it)."""
        with self._lock:
            for ev in events:
                if ev[0] != self.last + 1:
                    raise ValueError("the ledger tail must stay contiguous")
                self._events.append(ev)
                self.last = ev[0]

    def after(self, since: int, limit: int) -> list[tuple[int, bytes, bytes]] | None:
        """Up to ``limit`` events after ``since`` (none when ``since`` is the
        last or beyond it), or None when the tail no longer holds event
        ``since + 1`` (read through the engine)."""
        with self._lock:
            if since >= self.last:
                return []
            first = self.last - len(self._events) + 1
            if since + 1 < first:
                return None
            start = since + 1 - first
            return [self._events[i] for i in range(start, min(start + limit, len(self._events)))]


class EngineThread:
    """Owns the engine in one thread; ``run(fn)`` executes ``fn(engine)`` there.

    Group commit: the thread takes every call queued for it (up to
    :data:`GROUP_MAX`), runs them one after the other in one engine group
    (each event a savepoint), commits the group once, writes the head marker
    once (:meth:`Engine.flush_marker`) and only then answers the group's
    callers (module docstring; the durability argument is in
    :mod:`clearing.node.marker`)."""

    def __init__(self, factory: Callable[[], Engine]):
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        #: notices to run after the next successful marker write (engine thread only)
        self._notices: list[Callable[[], None]] = []
        #: engine calls run and groups (marker writes) so far, for tests and benchmarks
        self.calls = 0
        self.groups = 0
        self.engine: Engine = None  # type: ignore[assignment]  # set below, in the thread
        self._thread = threading.Thread(target=self._loop, name="engine", daemon=True)
        self._thread.start()
        try:
            self.engine = self.run(lambda _: factory())
        except BaseException:
            self._q.put(None)
            self._thread.join()
            raise
        self.engine.defer_marker = True
        #: the ledger's recent events, covered by the head marker (module docstring)
        self.tail = EventTail(self.engine.state.seq)

    def run(self, fn: Callable[[Engine], Any]) -> Any:
        return self.submit(fn).result()

    def submit(self, fn: Callable[[Engine], Any]) -> Future:
        """Queue ``fn(engine)``; its future is answered after its group's
        commit and marker write (calls queued together run as one group)."""
        fut: Future = Future()
        self._q.put((fn, fut))
        return fut

    def after_flush(self, notice: Callable[[], None]) -> None:
        """Run ``notice()`` once the head marker covers what is committed
        now (call from the engine thread only, e.g. from an engine hook).
        ``notice`` must be quick and must not call :meth:`run`."""
        self._notices.append(notice)

    def _loop(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            group = [item]
            while len(group) < GROUP_MAX:
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._q.put(None)  # stop after this group
                    break
                group.append(nxt)
            self._run_group(group)

    def _run_group(self, group: list) -> None:
        done: list[tuple[Future, bool, Any]] = []
        engine = self.engine  # None while the factory runs (the first group)
        held = len(self._notices)  # notices of earlier groups (their marker write failed)
        if engine is not None:
            try:
                engine.begin_group()
            except BaseException as exc:  # noqa: BLE001 - every caller gets it
                self._answer([(fut, False, exc) for _, fut in group])
                return
        for fn, fut in group:
            try:
                done.append((fut, True, fn(self.engine)))
            except BaseException as exc:  # noqa: BLE001 - handed to its caller, as the executor did
                done.append((fut, False, exc))
        self.calls += len(group)
        self.groups += 1
        if engine is not None:
            try:
                engine.end_group()
            except BaseException as exc:  # noqa: BLE001 - nothing of the group applied: no answer stands
                del self._notices[held:]
                done = [(fut, False, exc) for fut, _, _ in done]
            else:
                try:
                    engine.flush_marker()
                except BaseException as exc:  # noqa: BLE001 - no answer without the marker
                    done = [(fut, False, exc) for fut, _, _ in done]
                else:
                    self._extend_tail()
                    self._notify()
        self._answer(done)

    @staticmethod
    def _answer(done: list[tuple[Future, bool, Any]]) -> None:
        for fut, ok, value in done:
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

    def _extend_tail(self) -> None:
        """Copy the events the marker now covers into :attr:`tail`."""
        tail = getattr(self, "tail", None)
        if tail is None or self.engine.state.seq <= tail.last:
            return
        try:
            events = self.engine.events_with_hashes(tail.last)
            tail.extend([(seq, canonical(body), h) for seq, body, h in events])
        except Exception:
            log.exception("ledger tail not extended; readers use the engine")
            self.tail = EventTail(self.engine.state.seq)

    def _notify(self) -> None:
        notices, self._notices = self._notices, []
        for notice in notices:
            try:
                notice()
            except Exception:
                log.exception("engine notice failed")

    def close(self) -> None:
        try:
            if self.engine is not None:
                self.run(lambda e: e.close())
        finally:
            self._q.put(None)
            self._thread.join()

    def __repr__(self) -> str:
        return "EngineThread()"


__all__ = ["EngineThread", "GROUP_MAX"]
