"""Client-side retries of transient failures, with the same request.

The Python clients (:class:`clearing.clients.participant.Participant`,
:class:`clearing.clients.operator.Operator`) call the services through
:class:`Retrying` stubs: a call that fails with

* UNAVAILABLE (the service is restarting, the connection was refused or
  reset), or
* RESOURCE_EXHAUSTED (the server's backlog of calls is full, a disk is
  full) -- but not "message larger than max", which no retry can cure,

is sent again -- the *same request message*, hence the same request id --
after an exponential backoff with full jitter (a uniform delay in
[0, min(:data:`MAX_DELAY`, :data:`BASE_DELAY` * 2^k)] before attempt k+1),
at most :data:`ATTEMPTS` attempts in all, and never past the call's
deadline: the timeout covers every attempt and its backoff.  A
server-streaming call is read to the end inside the attempt and returned as
a list, so a retry never yields an item twice.

Why this is safe: every mutating RPC carries a request id, and the
clearing node answers a request id it has recorded with the recorded
result (:mod:`clearing.services.replay`) -- a reply lost after the commit costs a
replay, never a second application.

DEADLINE_EXCEEDED is not retried here: the caller's deadline is spent.  A
call whose client saw DEADLINE_EXCEEDED (or CANCELLED, or UNAVAILABLE after
the request left) may nevertheless have been applied -- the server
finishes what it started.  The caller retries it when it chooses, with the
same request id (the clients' methods take ``request_id``), and gets the
recorded result, applied once.

Pipelines.  :class:`CallWindow` keeps up to ``size`` unary calls in flight
at once (gRPC futures on one channel); each is retried exactly like
:func:`call_with_retry` -- the same request, the same deadline for all its
attempts, the backoff run on a timer instead of a sleeping thread -- and
:meth:`CallWindow.call` blocks while the window is full.
"""
from __future__ import annotations

import random
import threading
import time
from concurrent.futures import Future

import grpc

#: Attempts per call, the first included.
ATTEMPTS = 6
#: Backoff before the second attempt, doubling after each failure (seconds) ...
BASE_DELAY = 0.05
#: ... up to this much.
MAX_DELAY = 2.0
#: Status codes retried with the same request.
RETRIED = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
#: Seconds an attempt must have left to be worth sending.
MIN_ATTEMPT_TIME = 0.01


def retryable(exc: BaseException) -> bool:
    """A failure worth sending the same request again."""
    if not isinstance(exc, grpc.RpcError) or not hasattr(exc, "code"):
        return False
    if exc.code() not in RETRIED:
        return False
    details = exc.details() or ""
    return "larger than max" not in details


def backoff(attempt: int, rng=random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
    return rng.uniform(0, min(MAX_DELAY, BASE_DELAY * (2 ** attempt)))


def call_with_retry(fn, request, timeout: float | None, *, attempts: int = ATTEMPTS, sleep=time.sleep,
                    clock=time.monotonic, **kw):
    """``fn(request, timeout=..., **kw)`` with the retries above; each
    attempt gets the time left of ``timeout`` (None: no deadline)."""
    end = None if timeout is None else clock() + timeout
    for attempt in range(attempts):
        left = None if end is None else end - clock()
        try:
            return fn(request, timeout=left, **kw)
        except grpc.RpcError as exc:
            if not retryable(exc) or attempt == attempts - 1:
                raise
            pause = backoff(attempt)
            if end is not None and end - clock() - pause < MIN_ATTEMPT_TIME:
                raise
            sleep(pause)
    raise AssertionError("unreachable")


class Retrying:
    """A stub whose every call has a deadline and the retries above.

    ``Retrying(stub, timeout)``; ``client.Method(request)`` calls with
    ``timeout`` (for all attempts together) unless the call passes its own.
    Drop-in for :class:`clearing.services.rpc.Client`."""

    def __init__(self, stub, timeout: float, *, attempts: int = ATTEMPTS):
        self._stub = stub
        self._timeout = timeout
        self.attempts = attempts

    def __repr__(self) -> str:
        return f"Retrying({type(self._stub).__name__}, timeout={self._timeout})"

    def __getattr__(self, name: str):
        method = getattr(self._stub, name)
        if isinstance(method, grpc.UnaryStreamMultiCallable):
            def fn(request, timeout=None, **kw):
                return list(method(request, timeout=timeout, **kw))
        else:
            fn = method

        def call(request, timeout: float | None = None, **kw):
            return call_with_retry(fn, request, self._timeout if timeout is None else timeout,
                                   attempts=self.attempts, **kw)
        return call


class CallWindow:
    """At most ``size`` unary calls in flight, each retried like
    :func:`call_with_retry` (module docstring).

    ``window.call(stub.Method, request, timeout)`` returns a
    ``concurrent.futures.Future`` of the reply (or of the final RpcError);
    it blocks while ``size`` calls are in flight (or takes the place
    :meth:`reserve` waited for).  ``drain()`` waits until none is."""

    def __init__(self, size: int, *, attempts: int = ATTEMPTS, clock=time.monotonic):
        if size < 1:
            raise ValueError("a call window holds at least one call")
        self.size = size
        self.attempts = attempts
        self._clock = clock
        self._slots = threading.BoundedSemaphore(size)
        #: attempts sent after the first of their call (retries), for tests and benchmarks
        self.retries = 0

    def __repr__(self) -> str:
        return f"CallWindow(size={self.size})"

    def reserve(self) -> None:
        """Wait for a free place in the window and hold it for the next
        :meth:`call` made with ``reserved=True``."""
        self._slots.acquire()

    def call(self, method, request, timeout: float | None, *, reserved: bool = False) -> Future:
        if not reserved:
            self._slots.acquire()
        out: Future = Future()
        end = None if timeout is None else self._clock() + timeout

        def attempt(k: int) -> None:
            left = None if end is None else max(end - self._clock(), 0.0)
            try:
                fut = method.future(request, timeout=left)
            except Exception as exc:  # noqa: BLE001 - handed to the caller's future
                finish(None, exc)
                return
            fut.add_done_callback(lambda f: settle(f, k))

        def settle(f, k: int) -> None:
            exc = f.exception()
            if exc is None:
                finish(f.result(), None)
                return
            if retryable(exc) and k < self.attempts - 1:
                pause = backoff(k)
                if end is None or end - self._clock() - pause >= MIN_ATTEMPT_TIME:
                    self.retries += 1
                    t = threading.Timer(pause, attempt, (k + 1,))
                    t.daemon = True
                    t.start()
                    return
            finish(None, exc)

        def finish(result, exc) -> None:
            self._slots.release()
            if exc is None:
                out.set_result(result)
            else:
                out.set_exception(exc)

        attempt(0)
        return out

    def release_reserved(self) -> None:
        """Give back a place :meth:`reserve` took and no call used."""
        self._slots.release()

    def drain(self) -> None:
        """Wait until no call is in flight."""
        for _ in range(self.size):
            self._slots.acquire()
        for _ in range(self.size):
            self._slots.release()


__all__ = ["ATTEMPTS", "BASE_DELAY", "MAX_DELAY", "RETRIED", "CallWindow", "Retrying", "backoff", "call_with_retry",
           "retryable"]
