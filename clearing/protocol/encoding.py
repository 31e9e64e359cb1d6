"""Canonical JSON and the ledger's hash chain.

Canonical JSON: sorted keys, no whitespace, ASCII, and only ints, strings,
booleans, null, lists and objects -- a float anywhere is rejected, so money
never passes through binary floating point.  The chain hash of event i is
SHA-256(h_{i-1} || canonical({"seq": i, "event": e_i})), h_0 =
SHA-256("zkclear.v1/ledger/genesis").
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from clearing.protocol.errors import (
    InvalidArgument,
)

GENESIS_HASH = hashlib.sha256(b"zkclear.v1/ledger/genesis").digest()


def _check_json(value: Any, depth: int = 0) -> None:
    if depth > 32:
        raise InvalidArgument("event nested too deeply")
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        raise InvalidArgument("floats are not allowed in the ledger")
    if isinstance(value, (list, tuple)):
        for v in value:
            _check_json(v, depth + 1)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidArgument("event keys must be strings")
            _check_json(v, depth + 1)
        return
    raise InvalidArgument(f"cannot store a {type(value).__name__} in the ledger")


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, compact, ASCII; no floats)."""
    _check_json(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def content_hash(value: Any) -> bytes:
    """SHA-256 of the canonical encoding (used for request-id content)."""
    return hashlib.sha256(canonical(value)).digest()


def chain_hash(prev: bytes, seq: int, body: dict) -> bytes:
    return hashlib.sha256(prev + canonical({"seq": seq, "event": body})).digest()


