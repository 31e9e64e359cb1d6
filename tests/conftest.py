"""Shared test configuration and fixtures.

* tests/ is put first on ``sys.path`` (pytest does so for the rootless test
  modules too) so that the harness package imports as ``support`` in every
  process: the main one, pytest-xdist workers, and any import mode.
* Hypothesis profile ``ci`` (no deadline -- timings never decide a test --
  and 25 examples per property, to keep files fast on two cores) is loaded
  by default; ``HYPOTHESIS_PROFILE=<name>`` picks another registered one.
* ``backend_name``: parametrized over every group backend that loads here
  (``pyecc`` first, then ``ints``, ``gmpy2`` and ``mcl`` when present); the
  backend is the active one (:func:`zkp.group.use_backend`) for the test.
* ``fast_backend_name``: the same without the slow ``pyecc`` reference.
* ``cluster``: the clearing node and the prover service in-process over
  mutual TLS, members A, B, C configured, nothing onboarded
  (:class:`support.services.Cluster`), stopped after the test.
* ``procs``: a config in ``tmp_path/cfg`` for A, B, C on free ports and
  ``start(node)`` to start ``zkclear serve <node>`` as a process
  (:class:`support.processes.Proc`); yields ``(directory, start)`` and
  kills what was started after the test.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

TESTS_DIR = str(Path(__file__).resolve().parent)
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from support.backends import AVAILABLE_BACKENDS, FAST_BACKENDS  # noqa: E402
from zkp.group import use_backend  # noqa: E402

settings.register_profile("ci", deadline=None, max_examples=25)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=AVAILABLE_BACKENDS)
def backend_name(request):
    with use_backend(request.param):
        yield request.param


@pytest.fixture(params=FAST_BACKENDS)
def fast_backend_name(request):
    with use_backend(request.param):
        yield request.param


@pytest.fixture
def cluster(tmp_path):
    from support.services import Cluster

    c = Cluster(tmp_path / "cfg")
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def procs(tmp_path):
    from support.processes import Proc, configure
    from support.services import CCP, INSTRUMENTS

    d = tmp_path / "cfg"
    configure(d, ("A", "B", "C"), INSTRUMENTS, CCP)
    started = {}

    def start(node):
        started[node] = Proc(d, node)
        return started[node]

    yield d, start
    for p in started.values():
        p.close()
