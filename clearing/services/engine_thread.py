"""The engine's thread, with group commit of the durable head marker.

The engine and its SQLite connection live in one dedicated thread; every
gRPC handler submits its engine call there (:meth:`EngineThread.run`) and
waits.  That serialises all ledger writes and respects sqlite3's thread
affinity.

Group commit: the thread takes every call queued for it (up to
:data:`GROUP_MAX`), runs them one after the other -- each commits its own
events, one SQLite transaction each (synchronous=FULL) -- then writes the
head marker once (:meth:`~clearing.node.engine.Engine.flush_marker`) and
only then answers the group's callers; if that write fails, every call of
the group fails (its committed events stand; a retry with the same request
id gets the recorded result).  The durability argument is in
:mod:`clearing.node.marker`.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from clearing.node.engine import Engine

#: Most queued engine calls run before one head-marker write (group commit).
GROUP_MAX = 64


class EngineThread:
    """Owns the engine in one thread; ``run(fn)`` executes ``fn(engine)`` there.

    Group commit: the thread takes every call queued for it (up to
    :data:`GROUP_MAX`), runs them one after the other -- each commits its
    own events -- then writes the head marker once (:meth:`Engine.flush_marker`)
    and only then answers the group's callers (the durability argument is in
    :mod:`clearing.node.marker`)."""

    def __init__(self, factory: Callable[[], Engine]):
        self._q: queue.SimpleQueue = queue.SimpleQueue()
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

    def run(self, fn: Callable[[Engine], Any]) -> Any:
        fut: Future = Future()
        self._q.put((fn, fut))
        return fut.result()

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
        for fn, fut in group:
            try:
                done.append((fut, True, fn(self.engine)))
            except BaseException as exc:  # noqa: BLE001 - handed to its caller, as the executor did
                done.append((fut, False, exc))
        if self.engine is not None:
            try:
                self.engine.flush_marker()
            except BaseException as exc:  # noqa: BLE001 - no answer without the marker
                done = [(fut, False, exc) for fut, _, _ in done]
        for fut, ok, value in done:
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

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
