"""Verifying the clearing statements of :mod:`zkp.statements` (no witness code).

The verifier derives every checked commitment itself from public data
(:meth:`Statement.derived`), rebuilds the statement transcript, and checks the
aggregated range proofs -- singly, or many statements at once as one batch
(one multi-scalar multiplication, bisected on failure to name the culprits).
Every failure is the same :class:`~zkp.errors.VerificationError`.
"""
from __future__ import annotations

from collections.abc import Sequence

from zkp.errors import VerificationError
from zkp.generators import GeneratorSet, generators
from zkp.statements import (
    RevealProofs,
    Statement,
    StatementProof,
    chunk_transcript,
    item_transcript,
    range_chunks,
    reveal_items,
)

from .rangeproof import BatchVerificationError, RangeCheck, batch_verify
from .sigma import verify_reveal


def range_checks(st: Statement, proof: StatementProof, *, gens: GeneratorSet | None = None) -> list[RangeCheck]:
    gens = gens or generators()
    if not isinstance(proof, StatementProof):
        raise VerificationError()
    chunks = range_chunks(st)
    if len(proof.proofs) != len(chunks):
        raise VerificationError()
    derived = st.derived(gens)
    base = st.transcript(gens)
    return [
        RangeCheck(chunk_transcript(st, k, base, gens), [derived[i] for i in idx], p, st.BITS)
        for k, (idx, p) in enumerate(zip(chunks, proof.proofs))
    ]


def verify(st: Statement, proof: StatementProof, *, gens: GeneratorSet | None = None) -> None:
    """Verify one range statement; raises VerificationError."""
    checks = range_checks(st, proof, gens=gens)
    try:
        batch_verify(checks, gens=gens)
    except VerificationError:
        raise VerificationError() from None


def verify_many(items: Sequence[tuple[Statement, StatementProof]], *, gens: GeneratorSet | None = None) -> None:
    """Batch-verify many statements; on failure raise BatchVerificationError
    whose ``failed`` lists exactly the indices of the failing *statements*."""
    checks: list[RangeCheck] = []
    owner: list[int] = []
    bad: set[int] = set()
    for i, (st, proof) in enumerate(items):
        try:
            cs = range_checks(st, proof, gens=gens)
        except VerificationError:
            bad.add(i)
            continue
        checks.extend(cs)
        owner.extend([i] * len(cs))
    try:
        batch_verify(checks, gens=gens)
    except BatchVerificationError as exc:
        bad.update(owner[k] for k in exc.failed)
    if bad:
        raise BatchVerificationError(sorted(bad))


def verify_reveals(st: Statement, proof: RevealProofs, *, gens: GeneratorSet | None = None) -> None:
    """Disclosure / aggregate opening."""
    gens = gens or generators()
    if not isinstance(proof, RevealProofs):
        raise VerificationError()
    items = reveal_items(st)
    if len(proof.proofs) != len(items):
        raise VerificationError()
    base = st.transcript(gens)
    for k, ((C, v), p) in enumerate(zip(items, proof.proofs)):
        verify_reveal(item_transcript(st, k, base, gens), C, v, p, gens=gens)


__all__ = ["verify", "verify_many", "verify_reveals", "range_checks", "BatchVerificationError"]
