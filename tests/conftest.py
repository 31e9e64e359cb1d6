"""Shared test configuration.

* Hypothesis profile ``ci`` (no deadline -- timings never decide a test --
  and 25 examples per property, to keep files fast on two cores) is loaded
  by default; ``HYPOTHESIS_PROFILE=<name>`` picks another registered one.
* ``backend_name``: parametrized over every group backend that loads here
  (``pyecc`` first, then ``ints``, ``gmpy2`` and ``mcl`` when present); the
  backend is the active one (:func:`zkp.group.use_backend`) for the test.
* ``fast_backend_name``: the same without the slow ``pyecc`` reference.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import settings

from zkp.group import available_backends, use_backend

settings.register_profile("ci", deadline=None, max_examples=25)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

AVAILABLE_BACKENDS = available_backends()
FAST_BACKENDS = [name for name in AVAILABLE_BACKENDS if name != "pyecc"]


@pytest.fixture(params=AVAILABLE_BACKENDS)
def backend_name(request):
    with use_backend(request.param):
        yield request.param


@pytest.fixture(params=FAST_BACKENDS)
def fast_backend_name(request):
    with use_backend(request.param):
        yield request.param
