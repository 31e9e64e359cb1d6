"""Proving the clearing statements of :mod:`zkp.statements`.

The prover holds the openings of the statement's *source* commitments, applies
the statement's linear forms to them (:func:`zkp.statements.derive_openings`,
the same forms the verifier applies to the commitments), refuses when any
derived value is outside [0, 2^BITS) -- the statement is false -- and otherwise
produces one aggregated range proof per chunk on the statement's transcript.

Reveal statements (disclosure, aggregate opening) get one commits-to-zero
proof per revealed commitment, each on its own fork of the transcript.
"""
from __future__ import annotations

from collections.abc import Sequence

from zkp.errors import ProvingError
from zkp.field import R, Rng, from_int, random_scalar
from zkp.generators import GeneratorSet, generators
from zkp.group import Point
from zkp.pedersen import Opening
from zkp.rangeproof import RangeProof
from zkp.sigma import ZeroProof
from zkp.statements import (
    AggregateOpening,
    Context,
    Margin,
    ProRataShares,
    RevealProofs,
    Statement,
    StatementProof,
    chunk_transcript,
    derive_openings,
    item_transcript,
    range_chunks,
    reveal_items,
)

from .rangeproof import prove_range
from .sigma import prove_reveal


def _check_sources(st: Statement, openings: Sequence[Opening], gens: GeneratorSet) -> None:
    sources = st.sources()
    if len(openings) != len(sources):
        raise ProvingError("wrong number of openings for this statement")
    for C, op in zip(sources, openings):
        if gens.commit(op.value, op.blinding) != C:
            raise ProvingError("an opening does not match its commitment")


def prove(st: Statement, openings: Sequence[Opening], *, gens: GeneratorSet | None = None,
          rng: Rng | None = None) -> StatementProof:
    """Prove a range statement from the openings of ``st.sources()``."""
    gens = gens or generators()
    _check_sources(st, openings, gens)
    derived = derive_openings(openings, st.forms())
    bound = 1 << st.BITS
    for d in derived:
        if d.value >= bound:
            raise ProvingError("statement is false: a derived value is outside the proven range")
    base = st.transcript(gens)
    proofs: list[RangeProof] = []
    for k, idx in enumerate(range_chunks(st)):
        t = chunk_transcript(st, k, base, gens)
        proofs.append(prove_range(
            t, [derived[i].value for i in idx], [derived[i].blinding for i in idx], st.BITS, gens=gens, rng=rng,
        ))
    return StatementProof(tuple(proofs))


def prove_reveals(st: Statement, openings: Sequence[Opening], *, gens: GeneratorSet | None = None,
                  rng: Rng | None = None) -> RevealProofs:
    """Disclosure / aggregate opening.  ``openings`` are those of the revealed
    commitments (for an aggregate: of every member's commitment)."""
    gens = gens or generators()
    if isinstance(st, AggregateOpening):
        if len(openings) != len(st.commitments):
            raise ProvingError("wrong number of openings for this statement")
        total = Opening(0, 0)
        for op in openings:
            total = total + op
        openings = [total]
    items = reveal_items(st)
    if len(openings) != len(items):
        raise ProvingError("wrong number of openings for this statement")
    base = st.transcript(gens)
    proofs: list[ZeroProof] = []
    for k, ((C, v), op) in enumerate(zip(items, openings)):
        if op.value != from_int(v):
            raise ProvingError("statement is false: a revealed value differs from the opening")
        proofs.append(prove_reveal(item_transcript(st, k, base, gens), C, v, op.blinding, gens=gens, rng=rng))
    return RevealProofs(tuple(proofs))


def prove_margin_or_solvency(st: Margin, openings: Sequence[Opening], *, gens: GeneratorSet | None = None,
                             rng: Rng | None = None) -> tuple[Margin, StatementProof]:
    """The full margin proof when it holds; otherwise the solvency-only proof
    (scenario 0) when that holds, so the node can tell an IM call from a
    payment default.  Returns (statement actually proved, proof); raises
    ProvingError when even solvency fails."""
    try:
        return st, prove(st, openings, gens=gens, rng=rng)
    except ProvingError:
        if st.solvency_only:
            raise
    solv = Margin(st.context, st.cash, st.positions, st.matrix, st.scenario_set_id, True)
    return solv, prove(solv, openings, gens=gens, rng=rng)


def pro_rata_shares(
    context: Context, purpose: bytes, R_amount: int, D0: int, members: Sequence[bytes],
    df_commitments: Sequence[Point], df_openings: Sequence[Opening],
    *, cap_multiple: int = 1, gens: GeneratorSet | None = None, rng: Rng | None = None,
) -> tuple[ProRataShares, StatementProof, list[Opening]]:
    """Compute each survivor's c_j = floor(R*df_j/D0), commit to it with a
    fresh blinding, and prove the shares.  Returns (statement, proof, share
    openings).  The node sees only the statement (with C_c) and the proof."""
    gens = gens or generators()
    share_openings: list[Opening] = []
    shares: list[Point] = []
    for op in df_openings:
        df = op.value
        if df >= 1 << 64:
            raise ProvingError("default-fund contribution outside [0, 2^64)")
        c = R_amount * df // D0
        so = Opening(c, random_scalar(rng))
        share_openings.append(so)
        shares.append(gens.commit(so.value, so.blinding))
    st = ProRataShares(
        context, purpose, R_amount, D0, tuple(members), tuple(df_commitments), tuple(shares), cap_multiple,
    )
    proof = prove(st, list(df_openings) + share_openings, gens=gens, rng=rng)
    return st, proof, share_openings


__all__ = ["prove", "prove_reveals", "prove_margin_or_solvency", "pro_rata_shares", "R"]
