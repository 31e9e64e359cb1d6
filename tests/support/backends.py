"""The group backends that load here (:func:`zkp.group.available_backends`):
``AVAILABLE_BACKENDS`` (``pyecc`` first, then ``ints``, ``gmpy2`` and ``mcl``
when present) and ``FAST_BACKENDS``, the same without the slow ``pyecc``
reference.  Parametrize over them directly, or use the ``backend_name`` /
``fast_backend_name`` fixtures of tests/conftest.py."""
from __future__ import annotations

from zkp.group import available_backends

AVAILABLE_BACKENDS = available_backends()
FAST_BACKENDS = [name for name in AVAILABLE_BACKENDS if name != "pyecc"]
