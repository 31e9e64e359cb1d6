"""Default-fund sizing and Cover-2 statements (issue 14 §4, zkp/df_sizing.py):
the honest path at the exact threshold (scan and ES bounds), soundness
against a cheating prover with its range checks off (den*df' - num*m one
unit short; cash' + tau + P&L_s = -1), every public input bound, strict
encodings and bounds."""
from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prover import df_sizing as PD
from prover import statements as P
from support.statement_fixtures import commit_values, make_ctx, scan_matrix
from verifier import df_sizing as VD
from verifier import statements as V
from zkp.df_sizing import Cover2, DfBound, DfSizing, check_fraction, sized_minimum
from zkp.errors import DecodeError, ProvingError, VerificationError
from zkp.field import SeededRng
from zkp.generators import generators
from zkp.margin import MarginModel, MarginProof
from zkp.statements import StatementError, StatementProof

RNG = SeededRng(b"df-sizing-statement")
F = (1, 4)  # f = 25 %


def ctx(member=b"A", cycle=2, seq=9):
    return make_ctx(member, cycle, seq)


def committed(values):
    return commit_values(values, RNG)


def im(matrix, positions):
    return max(0, *(-sum(a * p for a, p in zip(row, positions)) for row in matrix))


def sizing_setup(df_value, positions, matrix, *, model=None, f=F):
    (C_df,), (o_df,) = committed([df_value])
    C_pos, o_pos = committed(positions)
    kw = {"model": model} if model else {}
    bound = DfBound(ctx(), generators().G, tuple(C_pos), matrix, b"set-1", **kw)

    def sizing_of(m, q):
        return DfSizing(ctx(), C_df, m, q, *f, epoch=3)
    return bound, sizing_of, o_df, o_pos


def prove_pair(df_value, positions, matrix, **kw):
    bound, sizing_of, o_df, o_pos = sizing_setup(df_value, positions, matrix, **kw)
    sp = PD.prove_sizing(bound, o_pos, o_df, *kw.get("f", F), sizing_of, rng=RNG)
    b = dataclasses.replace(bound, cash=sp.m)
    return b, sizing_of(sp.m, sp.q), sp


def test_fraction_and_minimum():
    assert check_fraction(1, 4) == (1, 4)
    for bad in ((2, 8), (0, 4), (5, 4), (1, 0), (1, (1 << 20) + 1), (True, 4)):
        with pytest.raises(StatementError):
            check_fraction(*bad)
    assert [sized_minimum(m, 1, 4) for m in (0, 1, 4, 5, 8)] == [0, 1, 1, 2, 2]


def test_honest_sizing_exact_threshold_scan():
    rnd = random.Random(1)
    for S, I in ((5, 2), (9, 3), (70, 2)):
        matrix = scan_matrix(rnd, S, I)
        positions = [rnd.randint(-30, 30) for _ in range(I)]
        need = sized_minimum(im(matrix, positions), *F)
        b, s, sp = prove_pair(need, positions, matrix)
        VD.verify_sizing(b, s, sp.bound_proof.to_bytes(), sp.sizing_proof.to_bytes())
        if need:
            with pytest.raises(ProvingError):
                prove_pair(need - 1, positions, matrix)


def test_honest_sizing_es_bound():
    rnd = random.Random(2)
    matrix = [[rnd.randint(-5000, 5000) for _ in range(2)] for _ in range(8)]
    positions = [7, -3]
    model = MarginModel("es", 3)
    losses = sorted((-sum(a * p for a, p in zip(row, positions)) for row in matrix), reverse=True)
    es = max(0, -(-sum(losses[:3]) // 3))
    b, s, sp = prove_pair(sized_minimum(es, *F), positions, matrix, model=model)
    VD.verify_sizing(b, s, sp.bound_proof.to_bytes(), sp.sizing_proof.to_bytes())
    assert len(sp.bound_proof.aux) == 9


def cheat(st, openings, aux=None):
    """Prove whatever the derived values are, range checks off."""
    import prover.rangeproof as prover_mod

    gens = generators()
    derived = st.derive_values(openings)
    saved = prover_mod._check_witness
    prover_mod._check_witness = lambda *a: None
    try:
        if st.FOLDED:
            jobs = P.chunk_jobs(st, derived, gens=gens)
            proofs = tuple(P.prove_chunk(j, gens=gens, rng=RNG) for j in jobs)
            return MarginProof(proofs, ())
        base = st.transcript(gens)
        from prover.rangeproof import prove_range
        from zkp.statements import chunk_transcript
        return StatementProof(tuple(
            prove_range(chunk_transcript(st, k, base, gens), [derived[i].value for i in idx],
                        [derived[i].blinding for i in idx], st.BITS, gens=gens, rng=RNG)
            for k, idx in enumerate(st.range_chunks())))
    finally:
        prover_mod._check_witness = saved


def test_cheating_sizing_one_unit_short():
    # m = 9, f = 1/4: den*df' - num*m = 4*2 - 9 = -1; q = 2 then den*q - num*m = -1
    (C_df, C_m, C_q), (o_df, o_m, o_q) = committed([2, 9, 2])
    st = DfSizing(ctx(), C_df, C_m, C_q, *F)
    with pytest.raises(VerificationError):
        V.verify(st, cheat(st, [o_df, o_m, o_q]))
    # q = 3 makes den*q - num*m = 3 but df' - q = -1
    (C_q3,), (o_q3,) = committed([3])
    st3 = DfSizing(ctx(), C_df, C_m, C_q3, *F)
    with pytest.raises(VerificationError):
        V.verify(st3, cheat(st3, [o_df, o_m, o_q3]))
    # a wrapped q (q = -1 mod r) fails its own range
    (C_qn,), (o_qn,) = committed([-1])
    stn = DfSizing(ctx(), C_df, C_m, C_qn, *F)
    with pytest.raises(VerificationError):
        V.verify(stn, cheat(stn, [o_df, o_m, o_qn]))
    # the helper is sound: one unit more verifies
    (C_df3,), (o_df3,) = committed([3])
    ok = DfSizing(ctx(), C_df3, C_m, C_q3, *F)
    V.verify(ok, cheat(ok, [o_df3, o_m, o_q3]))


def test_cheating_bound_below_im():
    rnd = random.Random(5)
    matrix = scan_matrix(rnd, 6, 2)
    positions = [5, -8]
    m = im(matrix, positions) - 1
    (C_m,), (o_m,) = committed([m])
    C_pos, o_pos = committed(positions)
    st = DfBound(ctx(), C_m, tuple(C_pos), matrix, b"set-1")
    with pytest.raises(VerificationError):
        V.verify(st, cheat(st, [o_m, *o_pos]))
    with pytest.raises(ProvingError):
        P.prove(st, [o_m, *o_pos], rng=RNG)


def cover2_setup(cash, positions, stress, tau, **kw):
    (C_cash,), (o_cash,) = committed([cash])
    C_pos, o_pos = committed(positions)
    return Cover2(ctx(**kw), C_cash, tuple(C_pos), stress, b"", tau=tau), [o_cash, *o_pos]


def test_cover2_exact_and_one_unit_short():
    rnd = random.Random(6)
    stress = scan_matrix(rnd, 5, 2)
    positions = [12, -7]
    worst = im(stress, positions)
    tau = 1000
    st, ops = cover2_setup(worst - tau, positions, stress, tau)
    VD.verify_cover2(st, PD.prove_cover2(st, ops[0], ops[1:], rng=RNG).to_bytes())
    bad, bops = cover2_setup(worst - tau - 1, positions, stress, tau)
    with pytest.raises(ProvingError):
        PD.prove_cover2(bad, bops[0], bops[1:], rng=RNG)
    with pytest.raises(VerificationError):
        V.verify(bad, cheat(bad, bops))


@pytest.fixture(scope="module")
def pair():
    rnd = random.Random(7)
    matrix = scan_matrix(rnd, 5, 2)
    positions = [3, 4]
    return prove_pair(sized_minimum(im(matrix, positions), *F) + 5, positions, matrix)


def test_every_public_input_of_sizing(pair):
    b, s, sp = pair
    bp, spf = sp.bound_proof.to_bytes(), sp.sizing_proof.to_bytes()
    VD.verify_sizing(b, s, bp, spf)
    other = generators().commit(5, 77)
    variants = [
        (b, dataclasses.replace(s, num=1, den=3)),
        (b, dataclasses.replace(s, epoch=4)),
        (b, dataclasses.replace(s, df=other)),
        (b, dataclasses.replace(s, q=other)),
        (dataclasses.replace(b, cash=other), dataclasses.replace(s, m=other)),
        (dataclasses.replace(b, scenario_set_id=b"set-2"), s),
        (dataclasses.replace(b, context=ctx(member=b"B")), s),
        (b, dataclasses.replace(s, context=ctx(seq=10))),
        (dataclasses.replace(b, positions=(other, b.positions[1])), s),
        (dataclasses.replace(b, matrix=[list(r) for r in b.mat.rows[:-1]]), s),
    ]
    for vb, vs in variants:
        with pytest.raises(VerificationError):
            VD.verify_sizing(vb, vs, bp, spf)
    # m must be the same point in both statements
    with pytest.raises(VerificationError):
        VD.verify_sizing(b, dataclasses.replace(s, m=other), bp, spf)
    # a bound proof is not a margin proof (domain separation by kind)
    from zkp.margin import Margin
    with pytest.raises(VerificationError):
        V.verify(Margin(b.context, b.cash, b.positions, b.mat, b.scenario_set_id), sp.bound_proof)


def test_every_public_input_of_cover2():
    rnd = random.Random(8)
    stress = scan_matrix(rnd, 4, 2)
    positions = [2, -1]
    st, ops = cover2_setup(im(stress, positions) + 10, positions, stress, 500)
    proof = PD.prove_cover2(st, ops[0], ops[1:], rng=RNG).to_bytes()
    VD.verify_cover2(st, proof)
    other = generators().commit(1, 2)
    for v in (dataclasses.replace(st, tau=499), dataclasses.replace(st, tau=501),
              dataclasses.replace(st, cash=other), dataclasses.replace(st, context=ctx(cycle=3)),
              dataclasses.replace(st, matrix=[list(r) for r in stress[:-1]] + [[1, 1]]),
              dataclasses.replace(st, scenario_set_id=b"x")):
        with pytest.raises(VerificationError):
            VD.verify_cover2(v, proof)


def test_malformed_encodings(pair):
    b, s, sp = pair
    bp, spf = sp.bound_proof.to_bytes(), sp.sizing_proof.to_bytes()
    for bad_b, bad_s in ((bp[:-1], spf), (bp + b"\0", spf), (bp, spf[:-1]), (bp, spf + b"\0"),
                         (b"", spf), (bp, b""), (spf, bp), (bp[:3], spf)):
        with pytest.raises(VerificationError):
            VD.verify_sizing(b, s, bad_b, bad_s)
    flipped = bytearray(spf)
    flipped[40] ^= 1
    with pytest.raises(VerificationError):
        VD.verify_sizing(b, s, bp, bytes(flipped))
    with pytest.raises(DecodeError):
        StatementProof.from_bytes(spf[:-2], s)


def test_statement_bounds():
    rnd = random.Random(9)
    matrix = scan_matrix(rnd, 3, 1)
    (C,), _ = committed([1])
    with pytest.raises(StatementError):
        DfBound(ctx(), C, (C,), matrix, b"", solvency_only=True)
    with pytest.raises(StatementError):
        Cover2(ctx(), C, (C,), matrix, b"", tau=-1)
    with pytest.raises(StatementError):
        Cover2(ctx(), C, (C,), matrix, b"", tau=1 << 63)
    with pytest.raises(StatementError):
        Cover2(ctx(), C, (C,), matrix, b"", tau=1, model=MarginModel("es", 1))
    with pytest.raises(StatementError):
        Cover2(ctx(), C, (C,), [[1]] + matrix[1:], b"", tau=1)
    with pytest.raises(StatementError):
        DfSizing(ctx(), C, C, C, 2, 4)
    with pytest.raises(StatementError):
        DfSizing(ctx(), C, C, "q", 1, 4)


@settings(max_examples=8, deadline=None)
@given(st.integers(1, 6), st.integers(1, 3), st.integers(1, 50), st.integers(1, 50), st.data())
def test_sized_minimum_matches_the_oracle(S, I, num, den, data):
    """The statement's threshold is the oracle's own ceil(f * IM): the exact
    minimum proves, one unit less does not (random sets, positions, f)."""
    import math

    from clearing.ccp.oracle_df_sizing import sized_minimum_contribution

    if math.gcd(num, den) != 1 or num > den:
        num, den = 1, den
    rnd = random.Random(data.draw(st.integers(0, 1 << 30)))
    matrix = scan_matrix(rnd, S + 1, I)
    positions = [rnd.randint(-40, 40) for _ in range(I)]
    need = sized_minimum_contribution(matrix, positions, (num, den))
    assert need == sized_minimum(im(matrix, positions), num, den)
    b, s, sp = prove_pair(need, positions, matrix, f=(num, den))
    VD.verify_sizing(b, s, sp.bound_proof.to_bytes(), sp.sizing_proof.to_bytes())
    if need:
        with pytest.raises(ProvingError):
            prove_pair(need - 1, positions, matrix, f=(num, den))
