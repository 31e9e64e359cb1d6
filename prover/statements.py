"""Proving the clearing statements of :mod:`zkp.statements`.

The prover holds the openings of the statement's *source* commitments, applies
the statement's linear forms to them (:meth:`zkp.statements.Statement.derive_values`,
the same forms the verifier folds or applies to the commitments), refuses when
any derived value is outside [0, 2^BITS) -- the statement is false -- and
otherwise produces one aggregated range proof per chunk on the statement's
chunk transcripts.

Margin family (:mod:`zkp.margin`): the caller passes the openings of the
member's cash, positions (and due).  For ES the prover first computes the
honest witness over the integers -- t = the k-th largest loss, e_s =
max(0, L_s - t) -- checks that every value the statement proves is in
[0, 2^64) (refusing *before* any commitment when not: the statement is
false), then commits T = C(t), E_s = C(e_s) with fresh blindings and proves
on the statement completed with them; the proof (:class:`zkp.margin.MarginProof`)
carries them.  Chunks depend only on (statement seed, index, values,
blindings) (:class:`ChunkJob`), so a caller may prove them elsewhere
(``map_chunks``, e.g. prover/pool.py's process pool).

Reveal statements (disclosure, aggregate opening) get one commits-to-zero
proof per revealed commitment, each on its own fork of the transcript.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from zkp.errors import ProvingError
from zkp.field import R, Rng, from_int, random_scalar
from zkp.generators import GeneratorSet, generators
from zkp.group import Point
from zkp.margin import Margin, MarginProof, signed
from zkp.pedersen import Opening
from zkp.rangeproof import RangeProof
from zkp.sigma import ZeroProof
from zkp.statements import (
    AggregateOpening,
    Context,
    ProRataShares,
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
from zkp.transcript import Transcript

from .rangeproof import prove_range
from .sigma import prove_reveal


def _check_openings(sources: Sequence[Point], openings: Sequence[Opening], gens: GeneratorSet) -> None:
    if len(openings) != len(sources):
        raise ProvingError("wrong number of openings for this statement")
    for C, op in zip(sources, openings):
        if gens.commit(op.value, op.blinding) != C:
            raise ProvingError("an opening does not match its commitment")


def _check_range(st: Statement, derived: Sequence[Opening]) -> None:
    bound = 1 << st.BITS
    for d in derived:
        if d.value >= bound:
            raise ProvingError("statement is false: a derived value is outside the proven range")


@dataclass(frozen=True)
class ChunkJob:
    """One chunk of a folded statement, provable anywhere: the statement's
    64-byte seed (zkp.statement_base.statement_seed), the chunk index, the
    derived values and blindings (secret: openings only), the bit size."""

    seed: bytes
    index: int
    values: tuple[int, ...]
    blindings: tuple[int, ...]
    bits: int

    def __repr__(self) -> str:  # never print secrets
        return f"ChunkJob(index={self.index}, m={len(self.values)})"


def prove_chunk(job: ChunkJob, *, gens: GeneratorSet | None = None, rng: Rng | None = None) -> RangeProof:
    return prove_range(seeded_chunk_transcript(job.seed, job.index), job.values, job.blindings, job.bits,
                       gens=gens, rng=rng)


#: Proves a list of chunk jobs, in order (in process by default).
ChunkMapper = Callable[[list[ChunkJob]], list[RangeProof]]


def chunk_jobs(st: Statement, derived: Sequence[Opening], *, gens: GeneratorSet | None = None,
               base: Transcript | None = None) -> list[ChunkJob]:
    """The chunk jobs of a folded statement (``derived``: its derived openings)."""
    if not st.FOLDED:
        raise ProvingError("only folded statements are proved as seeded chunks")
    seed = statement_seed(st, base, gens)
    return [ChunkJob(seed, k, tuple(derived[i].value for i in idx), tuple(derived[i].blinding for i in idx),
                     st.BITS) for k, idx in enumerate(st.range_chunks())]


def _prove_derived(st: Statement, derived: Sequence[Opening], gens: GeneratorSet, rng: Rng | None,
                   map_chunks: ChunkMapper | None = None) -> list[RangeProof]:
    _check_range(st, derived)
    base = st.transcript(gens)
    chunks = st.range_chunks()
    if st.FOLDED:
        jobs = chunk_jobs(st, derived, gens=gens, base=base)
        if map_chunks is not None and len(jobs) > 1:
            return list(map_chunks(jobs))
        return [prove_chunk(j, gens=gens, rng=rng) for j in jobs]
    return [prove_range(chunk_transcript(st, k, base, gens), [derived[i].value for i in idx],
                        [derived[i].blinding for i in idx], st.BITS, gens=gens, rng=rng)
            for k, idx in enumerate(chunks)]


def prove(st: Statement, openings: Sequence[Opening], *, gens: GeneratorSet | None = None,
          rng: Rng | None = None) -> StatementProof:
    """Prove a range statement from the openings of ``st.sources()`` (for
    the margin family: of ``st.member_sources()``; returns a MarginProof)."""
    gens = gens or generators()
    if isinstance(st, Margin):
        return prove_margin(st, openings, gens=gens, rng=rng)[1]
    _check_openings(st.sources(), openings, gens)
    return StatementProof(tuple(_prove_derived(st, st.derive_values(openings), gens, rng)))


# -- the margin family -------------------------------------------------------------
def es_witness(st: Margin, openings: Sequence[Opening]) -> tuple[int, list[int]]:
    """The honest ES witness (t, e_1..e_S) over the integers; ProvingError
    (naming no secret) when the statement is false or out of the proof's
    64-bit range."""
    I = st.mat.I
    cv = signed(openings[0].value) + st._cash_const()
    if st.member_sources()[I + 1:]:
        cv -= signed(openings[I + 1].value)
    bound = 1 << 64
    if not 0 <= cv < bound:
        raise ProvingError("statement is false: cash is negative or outside the proven range")
    pnl = st.mat.pnl([signed(o.value) for o in openings[1:I + 1]])
    k = st.model.k
    losses = [-p for p in pnl]
    t = sorted(losses, reverse=True)[k - 1]
    e = [L - t if L > t else 0 for L in losses]
    if any(x >= bound for x in e) or any(t - L >= bound for L in losses):
        raise ProvingError("ES witness outside the proven range (scenario losses too far apart)")
    f = k * cv - k * t - sum(e)
    if f < 0:
        raise ProvingError("statement is false: expected shortfall exceeds cash")
    if f >= bound:
        raise ProvingError("ES slack k*(cash - ES) outside the proven range")
    return t, e


def margin_witness(st: Margin, openings: Sequence[Opening], *, gens: GeneratorSet | None = None,
                   rng: Rng | None = None) -> tuple[Margin, list[Opening], list[Opening]]:
    """(statement with its aux commitments, openings of all its sources,
    derived openings).  ``openings``: of ``st.member_sources()``."""
    gens = gens or generators()
    _check_openings(st.member_sources(), openings, gens)
    openings = list(openings)
    if st.aux_count():
        t, e = es_witness(st, openings)
        aux_ops = [Opening(from_int(t), random_scalar(rng))] + [Opening(x, random_scalar(rng)) for x in e]
        aux = [gens.commit(o.value, o.blinding) for o in aux_ops]
        st = st.with_aux(aux)
        openings += aux_ops
    elif st.aux:
        raise ProvingError("this margin statement takes no auxiliary commitments")
    try:
        derived = st.derive_values(openings)
    except StatementError as exc:
        raise ProvingError(str(exc)) from None
    _check_range(st, derived)
    return st, openings, derived


def prove_margin(st: Margin, openings: Sequence[Opening], *, gens: GeneratorSet | None = None,
                 rng: Rng | None = None, map_chunks: ChunkMapper | None = None) -> tuple[Margin, MarginProof]:
    """Prove a margin-family statement; returns (the statement completed
    with the aux commitments, the proof).  ``map_chunks`` proves the chunk
    jobs elsewhere (e.g. in parallel); in process by default."""
    gens = gens or generators()
    full, _, derived = margin_witness(st, openings, gens=gens, rng=rng)
    proofs = _prove_derived(full, derived, gens, rng, map_chunks)
    return full, MarginProof(tuple(proofs), full.aux)


def prove_margin_or_solvency(st: Margin, openings: Sequence[Opening], *, gens: GeneratorSet | None = None,
                             rng: Rng | None = None,
                             map_chunks: ChunkMapper | None = None) -> tuple[Margin, MarginProof]:
    """The full margin proof when it holds; otherwise the solvency-only proof
    (cash' >= 0) when that holds, so the node can tell an IM call from a
    payment default.  Returns (statement actually proved, proof); raises
    ProvingError when even solvency fails."""
    try:
        return prove_margin(st, openings, gens=gens, rng=rng, map_chunks=map_chunks)
    except ProvingError:
        if st.solvency_only:
            raise
    return prove_margin(st.solvency(), openings, gens=gens, rng=rng)


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


__all__ = ["prove", "prove_reveals", "prove_margin", "prove_margin_or_solvency", "margin_witness", "es_witness",
           "pro_rata_shares", "ChunkJob", "ChunkMapper", "prove_chunk", "chunk_jobs", "R"]
