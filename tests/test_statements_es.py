"""Expected-shortfall margin statements (issue 13 §1): completeness at the
exact threshold against an independent integer oracle, soundness against a
cheating prover with its range checks switched off, binding of every public
input (replay across scenario sets, models and k), strict encodings, bounds."""
from __future__ import annotations

import dataclasses
import random

import pytest

from prover import statements as P
from verifier import statements as V
from zkp.errors import DecodeError, ProvingError, VerificationError
from zkp.field import R, SeededRng
from zkp.generators import generators
from zkp.pedersen import Opening
from zkp.statements import (
    MAX_INSTRUMENTS,
    MAX_SCENARIOS,
    AssessmentFromCash,
    Context,
    Margin,
    MarginModel,
    MarginProof,
    StatementError,
    StatementProof,
    Withdrawal,
)

RNG = SeededRng(b"statements-es")


def ctx(member=b"A", cycle=3, seq=17):
    return Context(cycle, seq, member)


def committed(values, rng=RNG):
    gens = generators()
    ops = [Opening(v, rng.randbelow(R - 1) + 1) for v in values]
    return [gens.commit(o.value, o.blinding) for o in ops], ops


def es_requirement(matrix, positions, k):
    """Independent oracle: max(0, ceil(sum of the k largest losses / k))."""
    losses = []
    for row in matrix:
        pnl = 0
        for a, p in zip(row, positions):
            pnl += a * p
        losses.append(-pnl)
    losses.sort()
    top = sum(losses[len(losses) - k:])
    return max(0, -((-top) // k))


def es_setup(cash, positions, matrix, k, *, set_id=b"set-es", **kw):
    (C_cash,), (o_cash,) = committed([cash])
    C_pos, o_pos = committed(positions)
    st = Margin(ctx(**kw), C_cash, tuple(C_pos), matrix, set_id, model=MarginModel("es", k))
    return st, [o_cash, *o_pos]


def random_matrix(rnd, S, I, lo=-10_000, hi=10_000):
    return [[rnd.randint(lo, hi) for _ in range(I)] for _ in range(S)]


# -- completeness at the exact threshold ------------------------------------------------
@pytest.mark.parametrize("S,I,k", [(13, 3, 4), (7, 1, 1), (5, 2, 5), (3, 4, 2)])
def test_es_exact_threshold(S, I, k):
    rnd = random.Random(S * 100 + I)
    matrix = random_matrix(rnd, S, I)
    positions = [rnd.randint(-40, 40) for _ in range(I)]
    req = es_requirement(matrix, positions, k)
    st, ops = es_setup(req, positions, matrix, k)
    full, proof = P.prove_margin(st, ops, rng=RNG)
    assert isinstance(proof, MarginProof) and len(proof.aux) == S + 1 == st.aux_count()
    V.verify(st, StatementProof.from_bytes(proof.to_bytes(), st))
    V.verify(full, proof)
    # one minor unit short: the full proof is refused, solvency-only is what remains
    st2, ops2 = es_setup(req - 1, positions, matrix, k)
    if req - 1 < 0:
        with pytest.raises(ProvingError):
            P.prove_margin_or_solvency(st2, ops2, rng=RNG)
        return
    with pytest.raises(ProvingError):
        P.prove_margin(st2, ops2, rng=RNG)
    proved, sp = P.prove_margin_or_solvency(st2, ops2, rng=RNG)
    assert proved.solvency_only and sp.aux == ()
    V.verify(st2.solvency(), StatementProof.from_bytes(sp.to_bytes(), st2.solvency()))
    with pytest.raises(VerificationError):  # a solvency-only proof is no full proof
        V.verify(st2, sp)


def test_es_requirement_cases():
    # all gains: requirement 0, cash 0 passes; ties in the tail
    matrix = [[-5, 0], [-5, 0], [-5, 0], [7, 1]]
    st, ops = es_setup(14, [3, 0], matrix, 2)      # losses 15, 15, 15, -21: ES = 15
    with pytest.raises(ProvingError):
        P.prove_margin(st, ops, rng=RNG)
    st, ops = es_setup(15, [3, 0], matrix, 2)
    V.verify(st, P.prove(st, ops, rng=RNG))
    st, ops = es_setup(0, [-3, 0], matrix, 3)      # losses -15 x3 and 21 -> top3 = 21-15-15 < 0 -> 0
    V.verify(st, P.prove(st, ops, rng=RNG))
    # rounding up: top-2 losses 10 + 11 = 21, k = 2 -> 11 (10.5 rounded up)
    matrix = [[-10], [-11], [3]]
    st, ops = es_setup(10, [1], matrix, 2)
    with pytest.raises(ProvingError):
        P.prove_margin(st, ops, rng=RNG)
    st, ops = es_setup(11, [1], matrix, 2)
    V.verify(st, P.prove(st, ops, rng=RNG))


def test_es_withdrawal_and_assessment_from_cash():
    rnd = random.Random(4)
    matrix = random_matrix(rnd, 9, 2)
    positions = [3, -2]
    k = 3
    req = es_requirement(matrix, positions, k)
    (C_cash,), (o_cash,) = committed([req + 1000])
    C_pos, o_pos = committed(positions)
    es = MarginModel("es", k)
    w = Withdrawal(ctx(), C_cash, tuple(C_pos), matrix, b"set-es", False, 1000, b"req", model=es)
    proof = P.prove(w, [o_cash, *o_pos], rng=RNG)
    V.verify(w, StatementProof.from_bytes(proof.to_bytes(), w))
    for other in (dataclasses.replace(w, amount=999), dataclasses.replace(w, request=b"other")):
        with pytest.raises(VerificationError):
            V.verify(other, proof)
    with pytest.raises(ProvingError):
        P.prove(dataclasses.replace(w, amount=1001), [o_cash, *o_pos], rng=RNG)
    (C_due,), (o_due,) = committed([777])
    (C_cash2,), (o_cash2,) = committed([req + 777])
    a = AssessmentFromCash(ctx(), C_cash2, tuple(C_pos), matrix, b"set-es", due=C_due, request=b"s", model=es)
    proof = P.prove(a, [o_cash2, *o_pos, o_due], rng=RNG)
    V.verify(a, StatementProof.from_bytes(proof.to_bytes(), a))
    (C_due2,), (o_due2,) = committed([778])
    a2 = dataclasses.replace(a, due=C_due2)
    with pytest.raises(ProvingError):
        P.prove(a2, [o_cash2, *o_pos, o_due2], rng=RNG)
    with pytest.raises(VerificationError):
        V.verify(a2, proof)


# -- soundness: a cheating prover with the range checks off -----------------------------
def cheat_prove(st, openings, t, e):
    """Commit the given (t, e_s) -- any field elements -- and prove whatever the
    derived values are, range checks switched off (wrapped mod r when negative)."""
    import prover.rangeproof as prover_mod

    gens = generators()
    aux_ops = [Opening(t, RNG.randbelow(R))] + [Opening(x, RNG.randbelow(R)) for x in e]
    full = st.with_aux([gens.commit(o.value, o.blinding) for o in aux_ops])
    derived = full.derive_values(list(openings) + aux_ops)
    saved = prover_mod._check_witness
    prover_mod._check_witness = lambda *a: None
    try:
        jobs = P.chunk_jobs(full, derived, gens=gens)
        proofs = tuple(P.prove_chunk(j, gens=gens, rng=RNG) for j in jobs)
    finally:
        prover_mod._check_witness = saved
    return MarginProof(proofs, full.aux)


def _losses(matrix, positions):
    return [-sum(a * p for a, p in zip(row, positions)) for row in matrix]


def test_cheating_prover_cannot_pass_one_unit_short():
    rnd = random.Random(11)
    S, I, k = 11, 3, 3
    matrix = random_matrix(rnd, S, I)
    positions = [rnd.randint(-30, 30) for _ in range(I)]
    req = es_requirement(matrix, positions, k)
    assert req > 0
    L = _losses(matrix, positions)
    t_k = sorted(L, reverse=True)[k - 1]
    honest_e = [max(0, x - t_k) for x in L]
    # the helper is sound: with enough cash the honest witness verifies through it
    st_ok, ops_ok = es_setup(req, positions, matrix, k)
    V.verify(st_ok, cheat_prove(st_ok, ops_ok, t_k, honest_e))
    st, ops = es_setup(req - 1, positions, matrix, k)
    attempts = {
        "honest witness": (t_k, honest_e),
        "t too high": (max(L), [0] * S),
        "t too low": (min(L) - 1, [x - min(L) + 1 for x in L]),
        "an e_s too small": (t_k, [x - 1 if x else x for x in honest_e]),
        "e_s = 0 everywhere": (t_k, [0] * S),
        "wrap-around e_s": (t_k, [(-(10**6)) % R if i == 0 else x for i, x in enumerate(honest_e)]),
        "wrap-around t": ((R - 5), [max(0, x + 5) for x in L]),
        "t = r - x (huge)": (R - t_k, honest_e),
    }
    for name, (t, e) in attempts.items():
        with pytest.raises(VerificationError):
            V.verify(st, cheat_prove(st, ops, t, e))
        assert name  # (the loop names each attempt on failure)


def test_k_mismatch_and_model_replay():
    rnd = random.Random(12)
    matrix = random_matrix(rnd, 8, 2)
    positions = [5, -7]
    req3 = es_requirement(matrix, positions, 3)
    req4 = es_requirement(matrix, positions, 4)
    cash = max(req3, req4)
    st3, ops = es_setup(cash, positions, matrix, 3)
    st4 = dataclasses.replace(st3, model=MarginModel("es", 4))
    p3 = P.prove(st3, ops, rng=RNG)
    V.verify(st3, p3)
    with pytest.raises(VerificationError):   # k is bound
        V.verify(st4, p3)
    # a prover proving under a looser k cannot pass it off as the set's k
    cheap = es_requirement(matrix, positions, 8)
    if cheap < req3:
        st8, ops8 = es_setup(cheap, positions, matrix, 8)
        p8 = P.prove(st8, ops8, rng=RNG)
        with pytest.raises((DecodeError, VerificationError)):
            V.verify(dataclasses.replace(st8, model=MarginModel("es", 3)), p8)
    # model replay: an ES proof is no scan proof and vice versa (scan needs row 0 = no move)
    scan_matrix = [[0, 0]] + matrix
    sc, sc_ops = es_setup(10**9, positions, scan_matrix, 1)
    sc = dataclasses.replace(sc, model=MarginModel())
    ps = P.prove(sc, sc_ops, rng=RNG)
    V.verify(sc, ps)
    es_of_same = dataclasses.replace(sc, model=MarginModel("es", 1))
    with pytest.raises(VerificationError):
        V.verify(es_of_same, ps)
    pe = P.prove(es_of_same, sc_ops, rng=RNG)
    V.verify(es_of_same, pe)
    with pytest.raises(VerificationError):
        V.verify(sc, pe)


@pytest.fixture(scope="module")
def es_pair():
    rnd = random.Random(21)
    matrix = random_matrix(rnd, 6, 2)
    positions = [4, -9]
    req = es_requirement(matrix, positions, 2)
    st, ops = es_setup(req + 5, positions, matrix, 2)
    return st, ops, P.prove(st, ops, rng=RNG)


@pytest.mark.parametrize("change", [
    "member", "cycle", "seq", "matrix", "scenario_set", "cash", "position", "swap_positions", "solvency_flag",
    "k", "model_scan", "aux_T", "aux_E", "aux_swap",
])
def test_es_every_public_input_bound(es_pair, change):
    st, _, proof = es_pair
    gens = generators()
    p = proof
    if change == "member":
        other = dataclasses.replace(st, context=ctx(member=b"B"))
    elif change == "cycle":
        other = dataclasses.replace(st, context=ctx(cycle=4))
    elif change == "seq":
        other = dataclasses.replace(st, context=ctx(seq=18))
    elif change == "matrix":
        m = [list(r) for r in st.matrix]
        m[2][1] += 1
        other = dataclasses.replace(st, matrix=m)
    elif change == "scenario_set":
        other = dataclasses.replace(st, scenario_set_id=b"set-2")
    elif change == "cash":
        other = dataclasses.replace(st, cash=st.cash + gens.G)
    elif change == "position":
        other = dataclasses.replace(st, positions=(st.positions[0] + gens.H, st.positions[1]))
    elif change == "swap_positions":
        other = dataclasses.replace(st, positions=(st.positions[1], st.positions[0]))
    elif change == "solvency_flag":
        other = dataclasses.replace(st, solvency_only=True)
    elif change == "k":
        other = dataclasses.replace(st, model=MarginModel("es", 3))
    elif change == "model_scan":
        m = [[0, 0]] + [list(r) for r in st.matrix[1:]]
        other = dataclasses.replace(st, matrix=m, model=MarginModel())
    elif change == "aux_T":
        other, p = st, MarginProof(proof.proofs, (proof.aux[0] + gens.G,) + proof.aux[1:])
    elif change == "aux_E":
        other, p = st, MarginProof(proof.proofs, proof.aux[:3] + (proof.aux[3] + gens.G,) + proof.aux[4:])
    else:
        other, p = st, MarginProof(proof.proofs, (proof.aux[0], proof.aux[2], proof.aux[1]) + proof.aux[3:])
    V.verify(st, proof)
    with pytest.raises(VerificationError):
        V.verify(other, p)


def test_es_proof_encoding_strict(es_pair):
    st, _, proof = es_pair
    data = proof.to_bytes()
    assert StatementProof.from_bytes(data, st).to_bytes() == data
    n_aux = st.aux_count()
    assert int.from_bytes(data[:4], "big") == n_aux
    # truncations anywhere, trailing bytes
    for cut in (0, 3, 4, 5, 4 + 32 * n_aux - 1, 4 + 32 * n_aux, 4 + 32 * n_aux + 1, len(data) - 1):
        with pytest.raises(DecodeError):
            StatementProof.from_bytes(data[:cut], st)
    with pytest.raises(DecodeError):
        StatementProof.from_bytes(data + b"\x00", st)
    # wrong counts
    for count in (0, n_aux - 1, n_aux + 1, 2**32 - 1):
        with pytest.raises(DecodeError):
            StatementProof.from_bytes(count.to_bytes(4, "big") + data[4:], st)
    # the range-proof count after the aux points
    body = 4 + 32 * n_aux
    with pytest.raises(DecodeError):
        StatementProof.from_bytes(data[:body] + (2).to_bytes(2, "big") + data[body + 2:], st)

    def with_aux0(enc: bytes) -> bytes:
        return data[:4] + enc + data[36:]

    identity = bytes([0x40]) + bytes(31)
    not_canonical = bytes([0x3F]) + b"\xff" * 31          # x >= p
    for bad in (identity, not_canonical):
        with pytest.raises(DecodeError):
            StatementProof.from_bytes(with_aux0(bad), st)
    # an x with no curve point
    x = 1
    from zkp.group import P as FP
    from zkp.group import sqrt_fp
    while sqrt_fp((x ** 3 + 3) % FP) is not None:
        x += 1
    with pytest.raises(DecodeError):
        StatementProof.from_bytes(with_aux0(x.to_bytes(32, "big")), st)
    # bit flips anywhere: rejected one way or the other
    rnd = random.Random(5)
    for pos in sorted({rnd.randrange(len(data)) for _ in range(40)} | {0, 3, 4, 40, body, body + 1}):
        bad = bytearray(data)
        bad[pos] ^= 1 << rnd.randrange(8)
        with pytest.raises((DecodeError, VerificationError)):
            V.verify(st, StatementProof.from_bytes(bytes(bad), st))
    with pytest.raises(DecodeError):
        StatementProof.from_bytes("not bytes", st)  # type: ignore[arg-type]


# -- bounds ------------------------------------------------------------------------------
def test_es_bounds_and_model_parsing():
    gens = generators()
    C = gens.G
    assert MAX_SCENARIOS == 2048 and MAX_INSTRUMENTS == 4096
    Margin(ctx(), C, (C,), [[1]] * MAX_SCENARIOS, b"s", model=MarginModel("es", MAX_SCENARIOS))
    with pytest.raises(StatementError):
        Margin(ctx(), C, (C,), [[1]] * (MAX_SCENARIOS + 1), b"s", model=MarginModel("es", 1))
    with pytest.raises(StatementError):
        Margin(ctx(), C, (C,) * (MAX_INSTRUMENTS + 1), [[1] * (MAX_INSTRUMENTS + 1)], b"s",
               model=MarginModel("es", 1))
    with pytest.raises(StatementError):
        Margin(ctx(), C, (C,), [[1]] * 3, b"s", model=MarginModel("es", 4))   # k > S
    for bad in (0, -1, MAX_SCENARIOS + 1, True, "2"):
        with pytest.raises(StatementError):
            MarginModel("es", bad)  # type: ignore[arg-type]
    with pytest.raises(StatementError):
        MarginModel("scan", 2)
    with pytest.raises(StatementError):
        MarginModel("var", 1)
    assert MarginModel.from_dict({"kind": "scan"}) == MarginModel()
    assert MarginModel.from_dict({"kind": "es", "k": 25}) == MarginModel("es", 25)
    for bad in ({}, {"kind": "es"}, {"kind": "es", "k": 2, "x": 1}, {"kind": "scan", "k": 0}, ["es"],
                {"kind": "es", "k": 2.0}):
        with pytest.raises(StatementError):
            MarginModel.from_dict(bad)
    # |A| < 2^64 still, and the aux count is checked
    with pytest.raises(StatementError):
        Margin(ctx(), C, (C,), [[1 << 64]], b"s", model=MarginModel("es", 1))
    st = Margin(ctx(), C, (C,), [[1], [2]], b"s", model=MarginModel("es", 1))
    with pytest.raises(StatementError):
        st.with_aux([C, C])
    with pytest.raises(StatementError):
        st.sources()   # ES needs its aux commitments


def test_es_at_the_instrument_bound():
    """I = 4,096 instruments (the bound), a small S: proves and verifies."""
    rnd = random.Random(4096)
    I = MAX_INSTRUMENTS
    matrix = [[rnd.randint(-10**9, 10**9) for _ in range(I)] for _ in range(3)]
    matrix[0][0] = (1 << 64) - 1   # the coefficient bound, on a zero position
    positions = [rnd.randint(-3, 3) for _ in range(I)]
    positions[0] = 0
    req = es_requirement(matrix, positions, 2)
    st, ops = es_setup(req, positions, matrix, 2)
    V.verify(st, P.prove(st, ops, rng=RNG))
    st2, ops2 = es_setup(req - 1, positions, matrix, 2)
    with pytest.raises(ProvingError):
        P.prove_margin(st2, ops2, rng=RNG)


@pytest.mark.slow
def test_es_at_both_bounds():
    """S = 2,048 scenarios and I = 4,096 instruments, k = 51."""
    from zkp.group import available_backends, use_backend

    rnd = random.Random(2048)
    S, I, k = MAX_SCENARIOS, MAX_INSTRUMENTS, 51
    matrix = [[rnd.randint(-10**6, 10**6) for _ in range(I)] for _ in range(S)]
    positions = [rnd.randint(-100, 100) for _ in range(I)]
    req = es_requirement(matrix, positions, k)
    fastest = "mcl" if "mcl" in available_backends() else "gmpy2"
    with use_backend(fastest):
        st, ops = es_setup(req, positions, matrix, k)
        proof = P.prove(st, ops, rng=RNG)
        V.verify(st, StatementProof.from_bytes(proof.to_bytes(), st))
        st2, ops2 = es_setup(req - 1, positions, matrix, k)
        with pytest.raises(ProvingError):
            P.prove_margin(st2, ops2, rng=RNG)
