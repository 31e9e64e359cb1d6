"""The demo's child processes: spawning, the member control channel, and
stopping them all.

Every child starts in its own session (its own process group), so a
terminal's Ctrl-C reaches only the orchestrator, which then stops the
children in order (:meth:`Processes.stop_all`): members' control pipes are
closed and every group gets SIGTERM (graceful gRPC shutdown), then SIGKILL
after a timeout, and every child is reaped.  :func:`clearing.demo.run.run_demo`
runs it on normal exit, on any error, on SIGINT and on SIGTERM (both raise
KeyboardInterrupt in the orchestrator while the run is on, :class:`Signals`;
exit 130) and, as a backstop, at interpreter exit.  On Linux each child also asks the kernel
for SIGTERM when the orchestrator dies (PR_SET_PDEATHSIG, set by the
pre-exec hook of :func:`_pre_exec`), so even a ``kill -9`` of the demo
leaves no node listening.  The hook calls nothing but the pre-resolved
``prctl`` and ``getppid`` (it runs between fork and exec).

A member process (:mod:`clearing.demo.participant`) is driven over its
stdin/stdout: one JSON request per line in, one JSON reply per line out
(:class:`Child`); a reply without ``"ok": true`` is a :class:`DemoError`.

:func:`free_port_base` finds consecutive free ports for the three nodes.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from clearing.demo.errors import DemoError

#: seconds a member process may take for one request (proofs on a busy machine)
AGENT_TIMEOUT = 1800.0
#: seconds between SIGTERM and SIGKILL at shutdown
STOP_TIMEOUT = 10.0


def _load_prctl():
    """libc's prctl on Linux, loaded in the parent (the pre-exec hook imports nothing)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _pre_exec(parent: int):
    """Run in the child before exec: die with the orchestrator (Linux)."""
    prctl = _load_prctl()

    def hook():
        if prctl is not None:
            prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the orchestrator died before the hook ran
                os._exit(1)
    return hook


@dataclass
class Child:
    name: str
    popen: subprocess.Popen
    log_path: Path
    control: bool = False
    log_offset: int = 0
    _buf: bytes = b""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, n: int = 1500) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(self.log_offset)
                text = fh.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(text[-n:].strip().splitlines()[-6:])

    # -- the member control channel (JSON lines over the pipes) ---------------
    def send(self, request: dict) -> None:
        if self.popen.stdin is None:
            raise DemoError(f"{self.name} has no control channel")
        try:
            self.popen.stdin.write((json.dumps(request) + "\n").encode())
            self.popen.stdin.flush()
        except (BrokenPipeError, OSError):
            raise DemoError(f"{self.name} is gone ({self.log_tail()})") from None

    def receive(self, timeout: float = AGENT_TIMEOUT) -> dict:
        if self.popen.stdout is None:
            raise DemoError(f"{self.name} has no control channel")
        fd = self.popen.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DemoError(f"{self.name} did not answer within {timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise DemoError(f"{self.name} exited (status {self.popen.poll()}): {self.log_tail()}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        reply = json.loads(line)
        if not reply.get("ok"):
            raise DemoError(f"{self.name}: {reply.get('error', 'request failed')}")
        return reply

    def call(self, request: dict, timeout: float = AGENT_TIMEOUT) -> dict:
        self.send(request)
        return self.receive(timeout)


class Processes:
    """Every child the demo started; ``stop_all`` is idempotent."""

    def __init__(self):
        self.children: list[Child] = []
        self._lock = threading.Lock()

    def spawn(self, name: str, argv: list[str], log_path: Path, env: dict, *, control: bool = False) -> Child:
        with open(log_path, "ab") as log:  # the child has its own copy of the descriptor
            offset = log.tell()
            popen = subprocess.Popen(
                argv, env=env, stdout=subprocess.PIPE if control else log, stderr=log,
                stdin=subprocess.PIPE if control else subprocess.DEVNULL,
                start_new_session=True, preexec_fn=_pre_exec(os.getpid()), close_fds=True)
        child = Child(name, popen, log_path, control, offset)
        self.children.append(child)
        return child

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> None:
        with self._lock:
            children, self.children = self.children, []
        members = [c for c in children if c.control]
        for c in members:  # members first: the end of their control channel makes them exit
            if c.popen.stdin is not None:
                try:
                    c.popen.stdin.close()
                except OSError:
                    pass
        deadline = time.monotonic() + min(2.0, timeout)
        for c in members:
            try:
                c.popen.wait(max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for c in reversed(children):
            if c.popen.poll() is None:
                self._signal(c, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for c in children:
            try:
                c.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for c in children:
            # whatever is left of its process group, leader or not (e.g. a
            # prover's worker processes); a group with no process left is gone
            self._signal(c, signal.SIGKILL)
            try:
                c.popen.wait(5)
            except subprocess.TimeoutExpired:
                pass
            if c.popen.stdout is not None:
                c.popen.stdout.close()

    @staticmethod
    def _signal(c: Child, sig) -> None:
        try:
            os.killpg(c.popen.pid, sig)  # the child leads its own group (new session)
        except (ProcessLookupError, PermissionError):
            pass


def free_port_base(count: int = 3) -> int:
    """``count`` consecutive free TCP ports on 127.0.0.1 (bound and released)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count > 65535:
            continue
        socks = []
        try:
            for k in range(count):
                t = socket.socket()
                socks.append(t)
                t.bind(("127.0.0.1", base + k))
            return base
        except OSError:
            continue
        finally:
            for t in socks:
                t.close()
    raise DemoError("no free ports on 127.0.0.1")


class Signals:
    """While the run is on, SIGTERM raises KeyboardInterrupt in the
    orchestrator as SIGINT does (exit 130, the children stopped on the way
    out); both are ignored while the children are being stopped, then the
    previous handlers return.  Only in the main thread (the only one that may
    set handlers); elsewhere this does nothing."""

    def __init__(self) -> None:
        self.active = threading.current_thread() is threading.main_thread()
        self.previous: dict = {}

    def install(self) -> None:
        if not self.active:
            return

        def on_term(signum, frame):
            raise KeyboardInterrupt
        self.previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def ignore(self) -> None:
        if self.active:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def restore(self) -> None:
        for s, h in self.previous.items():
            signal.signal(s, h)


__all__ = ["AGENT_TIMEOUT", "STOP_TIMEOUT", "Child", "Processes", "Signals", "free_port_base"]
