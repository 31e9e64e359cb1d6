"""Verifying the pre-trade headroom statements of :mod:`zkp.headroom` (no
witness code): the headroom proof of a margin run (a folded margin-family
proof, :class:`zkp.margin.MarginProof` with no aux points) and the debit
proof of a novation (one aggregated range proof over both sides' debited
headroom).  Every failure is the same :class:`~zkp.errors.VerificationError`.
"""
from __future__ import annotations

from zkp.errors import DecodeError, VerificationError
from zkp.generators import GeneratorSet
from zkp.headroom import Headroom, HeadroomDebit
from zkp.statements import StatementProof

from .statements import verify


def verify_headroom(st: Headroom, data: bytes, *, gens: GeneratorSet | None = None) -> None:
    """Decode (strictly) and verify a headroom proof; VerificationError."""
    _verify(st, data, gens)


def verify_debit(st: HeadroomDebit, data: bytes, *, gens: GeneratorSet | None = None) -> None:
    """Decode (strictly) and verify a headroom debit proof; VerificationError."""
    _verify(st, data, gens)


def _verify(st: Headroom | HeadroomDebit, data: bytes, gens: GeneratorSet | None) -> None:
    try:
        proof = StatementProof.from_bytes(data, st)
    except DecodeError:
        raise VerificationError() from None
    verify(st, proof, gens=gens)


__all__ = ["verify_debit", "verify_headroom"]
