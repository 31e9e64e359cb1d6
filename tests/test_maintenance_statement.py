"""The maintenance statement (issue 14 §2, zkp/maintenance.py): completeness
at the exact threshold against an integer oracle, soundness against a
cheating prover with its range checks off (one minor unit short fails),
every public input bound (mu, the set id, the model, the context, the
commitments), strict encodings, bounds; the prover's tiers."""
from __future__ import annotations

import dataclasses
import random
from fractions import Fraction

import pytest

from prover import maintenance as PM
from prover import statements as P
from support.statement_fixtures import commit_values, make_ctx, scan_matrix
from verifier import statements as V
from zkp.errors import DecodeError, ProvingError, VerificationError
from zkp.field import R, SeededRng
from zkp.generators import generators
from zkp.maintenance import MAX_RATIO_DEN, Maintenance, check_ratio, maintenance_of
from zkp.margin import Margin, MarginModel, MarginProof
from zkp.statements import StatementError, StatementProof

RNG = SeededRng(b"maintenance-statement")
MU = (4, 5)  # 0.8


def ctx(member=b"A", cycle=3, seq=17):
    return make_ctx(member, cycle, seq)


def committed(values):
    return commit_values(values, RNG)


def requirement(matrix, positions, mu):
    """Independent oracle: the least integer cash with cash + mu*P&L_s >= 0
    for every s (and cash >= 0)."""
    worst = max(0, *(-sum(a * p for a, p in zip(row, positions)) for row in matrix))
    need = Fraction(mu[0], mu[1]) * worst
    return -((-need.numerator) // need.denominator)


def setup(cash, positions, matrix, *, set_id=b"set-m", mu=MU, **kw):
    (C_cash,), (o_cash,) = committed([cash])
    C_pos, o_pos = committed(positions)
    st = Margin(ctx(**kw), C_cash, tuple(C_pos), matrix, set_id)
    return st, maintenance_of(st, *mu), [o_cash, *o_pos]


def test_exact_threshold_and_tiers():
    rnd = random.Random(1)
    for S, I, mu in ((5, 2, (4, 5)), (9, 3, (2, 3)), (64, 1, (1, 1)), (70, 2, (7, 10))):
        matrix = scan_matrix(rnd, S, I)
        positions = [rnd.randint(-40, 40) or 1 for _ in range(I)]
        need = requirement(matrix, positions, mu)
        assert need > 0
        st, mst, ops = setup(need, positions, matrix, mu=mu)
        proved, proof = P.prove_margin(mst, ops, rng=RNG)
        V.verify(mst, StatementProof.from_bytes(proof.to_bytes(), mst))
        assert isinstance(proved, Maintenance) and proved.solvency_only and proof.aux == ()
        # tiers: below IM but at maintenance -> the maintenance proof
        full_need = requirement(matrix, positions, (1, 1))
        if need < full_need:
            t_st, _ = PM.prove_tiered(st, ops, mu, rng=RNG)
            assert isinstance(t_st, Maintenance)
        _, mst1, ops1 = setup(need - 1, positions, matrix, mu=mu)
        with pytest.raises(ProvingError):
            P.prove_margin(mst1, ops1, rng=RNG)
        st1 = Margin(mst1.context, mst1.cash, mst1.positions, matrix, b"set-m")
        with pytest.raises(ProvingError):
            PM.prove_tiered(st1, ops1, mu, rng=RNG)
        # without mu the old tiers: solvency-only for a solvent member
        t_st, _ = PM.prove_tiered(st1, ops1, None, rng=RNG)
        assert type(t_st) is Margin and t_st.solvency_only


def test_full_im_passes_first_and_batch_tier():
    rnd = random.Random(2)
    matrix = scan_matrix(rnd, 6, 2)
    positions = [12, -5]
    im = requirement(matrix, positions, (1, 1))
    mm = requirement(matrix, positions, MU)
    jobs, expect = [], []
    for cash, tier in ((im, "full"), (mm, "maintenance"), (mm - 1, None), (-3, None)):
        st, _, ops = setup(cash, positions, matrix)
        jobs.append((st, ops))
        expect.append(tier)
    pool_results = []
    for st, ops in jobs:  # what the pool returns: full, else solvency-only, else None
        try:
            proved, pr = P.prove_margin_or_solvency(st, ops, rng=RNG)
            pool_results.append((proved, pr.to_bytes()))
        except ProvingError:
            pool_results.append(None)
    assert [r is not None and r[0].solvency_only for r in pool_results] == [False, True, True, False]
    out = PM.maintenance_tier(jobs, pool_results, MU, rng=RNG)
    got = [None if r is None else ("maintenance" if isinstance(r[0], Maintenance) else "full") for r in out]
    assert got == expect
    for (st, _), r in zip(jobs, out):
        if r is not None:
            V.verify(r[0], StatementProof.from_bytes(r[1], r[0]))
    assert PM.maintenance_tier(jobs, pool_results, None) == pool_results


# -- soundness: a cheating prover with the range checks off -------------------------------
def cheat_prove(st, openings):
    """Prove whatever the derived values are (negative ones wrap mod r), the
    prover's range checks switched off."""
    import prover.rangeproof as prover_mod

    gens = generators()
    derived = st.derive_values(openings)
    saved = prover_mod._check_witness
    prover_mod._check_witness = lambda *a: None
    try:
        jobs = P.chunk_jobs(st, derived, gens=gens)
        proofs = tuple(P.prove_chunk(j, gens=gens, rng=RNG) for j in jobs)
    finally:
        prover_mod._check_witness = saved
    return MarginProof(proofs, ())


def test_cheating_prover_one_unit_short():
    rnd = random.Random(3)
    matrix = scan_matrix(rnd, 7, 2)
    # mu = 4/5: den*cash + num*P&L_s = -1 exactly needs 5*cash = 4*L - 1, L = 4 mod 5
    for _ in range(1000):
        positions = [rnd.randint(-50, 50), rnd.randint(-50, 50)]
        worst = max(-sum(a * p for a, p in zip(row, positions)) for row in matrix)
        if worst > 0 and worst % 5 == 4:
            break
    else:
        raise AssertionError("no suitable positions")
    cash = (4 * worst - 1) // 5
    _, mst, ops = setup(cash, positions, matrix)
    derived = mst.derive_values(ops)
    assert min((d.value + R // 2) % R - R // 2 for d in derived) == -1  # one minor unit short
    with pytest.raises(VerificationError):
        V.verify(mst, cheat_prove(mst, ops))
    # the helper is sound: with one unit more it verifies
    _, ok, ops_ok = setup(cash + 1, positions, matrix)
    V.verify(ok, cheat_prove(ok, ops_ok))
    # an insolvent member cannot pass with positions that gain in every scenario
    _, neg, ops_neg = setup(-1, [0, 0], matrix)
    with pytest.raises(VerificationError):
        V.verify(neg, cheat_prove(neg, ops_neg))


@pytest.fixture(scope="module")
def pair():
    rnd = random.Random(4)
    matrix = scan_matrix(rnd, 6, 2)
    positions = [4, -9]
    st, mst, ops = setup(requirement(matrix, positions, MU) + 3, positions, matrix)
    return st, mst, P.prove_margin(mst, ops, rng=RNG)[1]


@pytest.mark.parametrize("change", [
    "mu_num", "mu_den", "mu_one", "set_id", "model_full_margin", "solvency_only_plain", "member", "cycle",
    "seq", "matrix", "cash", "position", "swap_positions",
])
def test_every_public_input_bound(pair, change):
    st, mst, proof = pair
    gens = generators()
    if change == "mu_num":
        other = dataclasses.replace(mst, num=3)
    elif change == "mu_den":
        other = dataclasses.replace(mst, den=7)
    elif change == "mu_one":
        other = dataclasses.replace(mst, num=1, den=1)
    elif change == "set_id":
        other = dataclasses.replace(mst, scenario_set_id=b"set-2")
    elif change == "model_full_margin":
        other = st  # the IM statement over the same commitments
    elif change == "solvency_only_plain":
        other = st.solvency()
    elif change == "member":
        other = dataclasses.replace(mst, context=ctx(member=b"B"))
    elif change == "cycle":
        other = dataclasses.replace(mst, context=ctx(cycle=4))
    elif change == "seq":
        other = dataclasses.replace(mst, context=ctx(seq=18))
    elif change == "matrix":
        m = [list(r) for r in mst.matrix]
        m[2][1] += 1
        other = dataclasses.replace(mst, matrix=m)
    elif change == "cash":
        other = dataclasses.replace(mst, cash=mst.cash + gens.G)
    elif change == "position":
        other = dataclasses.replace(mst, positions=(mst.positions[0] + gens.H, mst.positions[1]))
    else:
        other = dataclasses.replace(mst, positions=(mst.positions[1], mst.positions[0]))
    V.verify(mst, proof)
    with pytest.raises(VerificationError):
        V.verify(other, proof)


def test_encoding_strict(pair):
    _, mst, proof = pair
    data = proof.to_bytes()
    assert StatementProof.from_bytes(data, mst).to_bytes() == data
    assert data[:4] == bytes(4)
    for cut in (0, 3, 4, 5, 6, len(data) - 1):
        with pytest.raises(DecodeError):
            StatementProof.from_bytes(data[:cut], mst)
    with pytest.raises(DecodeError):
        StatementProof.from_bytes(data + b"\x00", mst)
    with pytest.raises(DecodeError):  # aux points where none belong
        StatementProof.from_bytes((1).to_bytes(4, "big") + generators().G.encode() + data[4:], mst)
    with pytest.raises(DecodeError):  # range-proof count
        StatementProof.from_bytes(data[:4] + (2).to_bytes(2, "big") + data[6:], mst)
    rnd = random.Random(6)
    for pos in sorted({rnd.randrange(len(data)) for _ in range(30)} | {4, 5, 6, 40}):
        bad = bytearray(data)
        bad[pos] ^= 1 << rnd.randrange(8)
        with pytest.raises((DecodeError, VerificationError)):
            V.verify(mst, StatementProof.from_bytes(bytes(bad), mst))


def test_folded_equals_reference(pair):
    _, mst, proof = pair
    V.verify_unfolded(mst, proof)
    weights = [RNG.randbelow(R) for _ in range(mst.num_forms())]
    coeff, g = mst.fold(weights)
    ref = [0] * len(mst.sources())
    for w, f in zip(weights, mst.forms()):
        assert f.const == 0
        for j, c in f.terms:
            ref[j] = (ref[j] + w * c) % R
    assert coeff == ref and g == 0


def test_bounds():
    gens = generators()
    C = gens.G
    base = Margin(ctx(), C, (C,), [[0], [5]], b"s")
    assert check_ratio(4, 5) == (4, 5)
    assert check_ratio(1, MAX_RATIO_DEN) == (1, MAX_RATIO_DEN)
    for num, den in ((0, 5), (6, 5), (8, 10), (1, MAX_RATIO_DEN + 1), (True, 5), (4, 5.0), (-1, 5)):
        with pytest.raises(StatementError):
            maintenance_of(base, num, den)
    es = Margin(ctx(), C, (C,), [[3], [5]], b"s", model=MarginModel("es", 1))
    with pytest.raises(StatementError, match="scan model only"):
        maintenance_of(es, 4, 5)
    with pytest.raises(StatementError, match="tier below IM"):
        Maintenance(ctx(), C, (C,), [[0], [5]], b"s", False, num=4, den=5)
    m = maintenance_of(base, 4, 5)
    assert m.solvency() is m and m.num_forms() == 2 and m.aux_count() == 0
