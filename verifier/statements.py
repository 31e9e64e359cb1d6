"""Verifying the clearing statements of :mod:`zkp.statements` (no witness code).

The verifier rebuilds the statement transcript and checks the aggregated
range proofs -- singly, or many statements at once as one batch (one
multi-scalar multiplication, bisected on failure to name the culprits).
Every failure is the same :class:`~zkp.errors.VerificationError`.

Derived commitments: for an unfolded statement the verifier derives them
itself from public data (:meth:`Statement.derived`).  A folded statement
(the margin family, ``FOLDED``) is checked without them: each chunk's
range check carries a :class:`~verifier.rangeproof.FoldedValues` (its
chunks must be the statement's forms in order, each contiguous) and the
batch asks the statement once for sum_f W_f*D_f as terms over its sources
(:meth:`Statement.fold`: O(S*I) field operations, one MSM term per source,
merged into the batch MSM).  Margin-family proofs carry the prover's
auxiliary commitments (:class:`zkp.margin.MarginProof`); the statement the
node built from ledger state is completed with them before anything else.
:func:`verify_unfolded` is the reference check with explicit derived
commitments (tests compare the two).
"""
from __future__ import annotations

from collections.abc import Sequence

from zkp.errors import VerificationError
from zkp.generators import GeneratorSet, generators
from zkp.group import Point, RawPoint
from zkp.margin import Margin, MarginProof
from zkp.statements import (
    RevealProofs,
    Statement,
    StatementError,
    StatementProof,
    chunk_transcript,
    item_transcript,
    reveal_items,
    seeded_chunk_transcript,
    statement_seed,
)

from .rangeproof import BatchVerificationError, FoldedValues, RangeCheck, batch_verify
from .sigma import verify_reveal


class _StatementFold:
    """A folded statement as a :class:`~verifier.rangeproof.FoldGroup`."""

    def __init__(self, st: Statement, gens: GeneratorSet) -> None:
        b = gens.backend
        self.st = st
        self.n_values = st.num_forms()
        pts: list[Point] = [p if p.b is b else p.to_backend(b) for p in st.sources()]
        self.raw: list[RawPoint] = [p.raw for p in pts]

    def fold(self, weights: list[int]) -> tuple[list[RawPoint], list[int], int]:
        coeff, g = self.st.fold(weights)
        return self.raw, coeff, g


def complete(st: Statement, proof: object) -> Statement:
    """The statement a proof is checked against: a margin-family statement
    completed with the proof's auxiliary commitments (the node builds it
    without them).  VerificationError when they do not fit."""
    if not isinstance(st, Margin):
        return st
    aux = proof.aux if isinstance(proof, MarginProof) else ()
    if st.aux:
        if tuple(st.aux) != tuple(aux):
            raise VerificationError()
        return st
    try:
        return st.with_aux(aux)
    except StatementError:
        raise VerificationError() from None


def _chunks_of(st: Statement, proof: object) -> tuple[Statement, list[list[int]], StatementProof]:
    if not isinstance(proof, StatementProof):
        raise VerificationError()
    st = complete(st, proof)
    chunks = st.range_chunks()
    if len(proof.proofs) != len(chunks):
        raise VerificationError()
    return st, chunks, proof


def _check_consecutive(chunks: list[list[int]], n: int) -> None:
    """A folded chunk is read as (offset, m) -- values offset..offset+m-1 of
    its statement -- so the chunks must be the forms 0..n-1 in order, each
    contiguous; otherwise the verifier would check other forms than the
    ones proved (and could leave some unchecked)."""
    if [i for idx in chunks for i in idx] != list(range(n)) or not all(chunks):
        raise VerificationError()


def range_checks(st: Statement, proof: StatementProof, *, gens: GeneratorSet | None = None) -> list[RangeCheck]:
    gens = gens or generators()
    st, chunks, proof = _chunks_of(st, proof)
    try:
        base = st.transcript(gens)
        if st.FOLDED:
            _check_consecutive(chunks, st.num_forms())
            group = _StatementFold(st, gens)
            seed = statement_seed(st, base, gens)
            return [RangeCheck(seeded_chunk_transcript(seed, k), FoldedValues(group, idx[0], len(idx)), p, st.BITS)
                    for k, (idx, p) in enumerate(zip(chunks, proof.proofs))]
        derived = st.derived(gens)
    except StatementError:
        raise VerificationError() from None
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


def verify_unfolded(st: Statement, proof: StatementProof, *, gens: GeneratorSet | None = None) -> None:
    """Reference check: derive every commitment (S MSMs of I terms for a
    margin statement) and verify the same chunks against them."""
    gens = gens or generators()
    st, chunks, proof = _chunks_of(st, proof)
    try:
        base = st.transcript(gens)
        derived = st.derived(gens)
    except StatementError:
        raise VerificationError() from None
    checks = [RangeCheck(chunk_transcript(st, k, base, gens), [derived[i] for i in idx], p, st.BITS)
              for k, (idx, p) in enumerate(zip(chunks, proof.proofs))]
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


__all__ = ["verify", "verify_many", "verify_reveals", "verify_unfolded", "range_checks", "complete",
           "BatchVerificationError"]
