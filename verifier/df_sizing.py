"""Verifying default-fund sizing and Cover-2 (issue 14 §4, :mod:`zkp.df_sizing`):
strict decoding of each proof for its statement, then the range checks of
both sizing statements (or the Cover-2 statement) in one batch.  Raises
:class:`~zkp.errors.VerificationError` for every bad proof, malformed
encodings included."""
from __future__ import annotations

from zkp.df_sizing import Cover2, DfBound, DfSizing
from zkp.errors import DecodeError, VerificationError
from zkp.statements import Statement, StatementError, StatementProof

from .statements import verify, verify_many


def _decode(st: Statement, data: bytes) -> StatementProof:
    try:
        return StatementProof.from_bytes(bytes(data), st)
    except (DecodeError, StatementError, ValueError):
        raise VerificationError() from None


def verify_sizing(bound: DfBound, sizing: DfSizing, bound_proof: bytes, sizing_proof: bytes) -> None:
    """Both statements of a sized filing (C(m) must be the same point in both)."""
    if bound.cash != sizing.m:
        raise VerificationError()
    verify_many([(bound, _decode(bound, bound_proof)), (sizing, _decode(sizing, sizing_proof))])


def verify_cover2(st: Cover2, proof: bytes) -> None:
    verify(st, _decode(st, proof))


__all__ = ["verify_sizing", "verify_cover2"]
