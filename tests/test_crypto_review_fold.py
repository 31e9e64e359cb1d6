"""Crypto review (issue 13): the folded verification of the margin family.

Adversarial checks of the "bound statement" strategy (zkp.statement_base,
zkp.rangeproof.BoundTranscript, verifier.rangeproof): the range proofs no
longer absorb the derived commitments V_j, so every value the V_j depend on
must be bound *before* the challenges.  Each attack below is first shown to
succeed against a deliberately weakened variant (so the test can fail), then
to fail against the real code:

* aux points chosen after the challenges: with T, E_s left out of the
  statement transcript a prover shifts the committed e_1, e_2 by amounts of
  its choice after seeing z and still verifies; bound, it does not;
* chunks: swapped, dropped, duplicated, a chunk proved under another index,
  two derived values exchanged across the chunk boundary -- all fail;
* batch weights: two proofs whose errors cancel in an unweighted sum pass a
  batch with weights 1, fail with the real per-proof CSPRNG weights, and
  bisection names exactly those two;
* the float64 column sums at the extremes (|A| = 2^64 - 1, both signs,
  alternating; S = 2048; weights up to r - 1) equal exact Python integers,
  through numpy's int64 path and its OverflowError path.
"""
from __future__ import annotations

import dataclasses
import random

import pytest

import verifier.rangeproof as VR
import zkp.margin as ZM
from prover import statements as P
from support.statement_fixtures import commit_values
from verifier import statements as V
from zkp.errors import DecodeError, VerificationError
from zkp.field import R, SeededRng
from zkp.generators import generators
from zkp.margin import Margin, MarginModel, MarginProof, ScenarioMatrix
from zkp.pedersen import Opening
from zkp.rangeproof import padded_m, replay_challenges
from zkp.statements import Context, StatementProof, seeded_chunk_transcript, statement_seed

RNG = SeededRng(b"crypto-review-fold")


def committed(values):
    return commit_values(values, RNG)


def es_statement(S, I, k, cash, seed=1):
    rnd = random.Random(seed)
    matrix = [[rnd.randint(-1000, 1000) for _ in range(I)] for _ in range(S)]
    positions = [rnd.randint(-20, 20) for _ in range(I)]
    (C_cash,), (o_cash,) = committed([cash])
    C_pos, o_pos = committed(positions)
    st = Margin(Context(5, 9, b"M"), C_cash, tuple(C_pos), matrix, b"set-review", model=MarginModel("es", k))
    return st, [o_cash, *o_pos]


def scan_statement(S, I, cash, seed=1, member=b"M"):
    rnd = random.Random(seed)
    matrix = [[0] * I] + [[rnd.randint(-1000, 1000) for _ in range(I)] for _ in range(S - 1)]
    positions = [rnd.randint(-20, 20) for _ in range(I)]
    (C_cash,), (o_cash,) = committed([cash])
    C_pos, o_pos = committed(positions)
    return Margin(Context(5, 9, member), C_cash, tuple(C_pos), matrix, b"set-scan"), [o_cash, *o_pos]


# -- aux points chosen after the challenges --------------------------------------------
def _shift_aux_after_challenges(st: Margin, proof: MarginProof) -> MarginProof:
    """The attack on an unbound aux: knowing chunk 0's z, shift E_1 by a*G and
    E_2 by b*G (the committed e_1, e_2 change by a, b) such that
    sum_j z^(2+j)*V_j is unchanged; returns the proof with the shifted aux.
    Single-chunk ES: forms j = 0 cash', 1..S e_s, S+1..2S x_s, 2S+1 f."""
    gens = generators()
    assert len(st.range_chunks()) == 1
    full = st.with_aux(proof.aux)
    S = st.mat.S
    p0 = proof.proofs[0]
    M = padded_m(2 * S + 2)
    ch = replay_challenges(seeded_chunk_transcript(statement_seed(full), 0), 64, M, gens.set_id, [], p0)
    z = ch.z

    def zp(j):
        return pow(z, 2 + j, R)

    # dV: E_s at j = s (1-based s), x_s at j = S + s, f at j = 2S + 1 (coefficient -1)
    c1 = (zp(1) + zp(S + 1) - zp(2 * S + 1)) % R
    c2 = (zp(2) + zp(S + 2) - zp(2 * S + 1)) % R
    a = 12345
    b = (-a * c1 * pow(c2, -1, R)) % R
    aux = list(proof.aux)
    aux[1] = aux[1] + gens.G * a
    aux[2] = aux[2] + gens.G * b
    return MarginProof(proof.proofs, tuple(aux))


def test_aux_chosen_after_the_challenges_needs_the_aux_binding(monkeypatch):
    st, ops = es_statement(6, 2, 2, cash=10**7)
    # a weakened statement whose transcript omits the aux points: the attack succeeds
    real_bind = Margin._bind

    def bind_without_aux(self, t):  # Margin._bind minus its last step ("aux")
        t.append_u64(b"solvency-only", int(self.solvency_only))
        self.model.bind(t)
        t.append_u64(b"S", self.mat.S)
        t.append_u64(b"I", self.mat.I)
        t.append_message(b"scenario-set", bytes(self.scenario_set_id))
        t.append_point(b"cash", self.cash)
        t.append_points(b"pos", self.positions)

    monkeypatch.setattr(Margin, "_bind", bind_without_aux)
    _, proof = P.prove_margin(st, ops, rng=RNG)
    V.verify(st, proof)
    forged = _shift_aux_after_challenges(st, proof)
    assert forged.aux != proof.aux
    V.verify(st, forged)  # the weakened binding is broken: e_1, e_2 moved by chosen amounts
    monkeypatch.setattr(Margin, "_bind", real_bind)
    # the real binding: the same attack fails
    _, proof = P.prove_margin(st, ops, rng=RNG)
    V.verify(st, proof)
    with pytest.raises(VerificationError):
        V.verify(st, _shift_aux_after_challenges(st, proof))
    with pytest.raises(VerificationError):
        V.verify_unfolded(st, _shift_aux_after_challenges(st, proof))


_AUX_OPS: dict[int, list[Opening]] = {}


def _all_openings(full, ops):
    return _AUX_OPS[id(full)]


# -- chunks -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_chunks():
    st, ops = es_statement(40, 2, 5, cash=10**7, seed=3)  # 2S + 2 = 82 values: chunks of 64 and 18
    full, all_ops, _ = P.margin_witness(st, ops, rng=RNG)
    _AUX_OPS[id(full)] = all_ops
    proof = MarginProof(tuple(P.prove_chunk(j, rng=RNG) for j in P.chunk_jobs(full, full.derive_values(all_ops))),
                        full.aux)
    assert [len(c) for c in full.range_chunks()] == [64, 18]
    V.verify(st, proof)
    return st, ops, full, proof


def test_chunks_swapped_dropped_duplicated_fail(two_chunks):
    st, _, _, proof = two_chunks
    p0, p1 = proof.proofs
    for proofs in ((p1, p0), (p0,), (p1,), (p0, p0, p1), (p0, p1, p1)):
        bad = MarginProof(proofs, proof.aux)
        with pytest.raises(VerificationError):
            V.verify(st, bad)
        with pytest.raises(DecodeError):
            StatementProof.from_bytes(bad.to_bytes(), st)


def _chunk_proof(full, derived, k, *, order=None, index=None, seed_of=None):
    """Chunk ``k``'s range proof made by a cheating prover (its range checks
    kept on): over the derived openings permuted by ``order``, under chunk
    index ``index``, or on the seed of the statement ``seed_of``."""
    gens = generators()
    if order is not None:
        derived = [derived[i] for i in order]
    job = P.chunk_jobs(full, derived, gens=gens)[k]
    if index is not None:
        job = dataclasses.replace(job, index=index)
    if seed_of is not None:
        job = dataclasses.replace(job, seed=statement_seed(seed_of))
    return P.prove_chunk(job, gens=gens, rng=RNG)


def test_values_cannot_move_across_chunks(two_chunks):
    st, ops, full, proof = two_chunks
    derived = full.derive_values(_all_openings(full, ops))
    # exchange the last value of chunk 0 with the first of chunk 1 (both in range)
    order = list(range(len(derived)))
    order[63], order[64] = 64, 63
    assert derived[63].value != derived[64].value
    moved = MarginProof((_chunk_proof(full, derived, 0, order=order), proof.proofs[1]), proof.aux)
    with pytest.raises(VerificationError):
        V.verify(st, moved)
    # exchange two values inside chunk 1 (the per-chunk z-power offset)
    b = 64 + next(j for j in range(1, 18) if derived[64 + j].value != derived[64].value)
    order = list(range(len(derived)))
    order[64], order[b] = b, 64
    inner = MarginProof((proof.proofs[0], _chunk_proof(full, derived, 1, order=order)), proof.aux)
    with pytest.raises(VerificationError):
        V.verify(st, inner)
    # the helper is sound: chunk 1 re-proved unpermuted verifies with chunk 0
    V.verify(st, MarginProof((proof.proofs[0], _chunk_proof(full, derived, 1)), proof.aux))


def test_chunk_proved_under_another_index_or_statement_fails(two_chunks):
    st, ops, full, proof = two_chunks
    derived = full.derive_values(_all_openings(full, ops))
    with pytest.raises(VerificationError):
        V.verify(st, MarginProof((_chunk_proof(full, derived, 0, index=1), proof.proofs[1]), proof.aux))
    # a chunk proof on the seed of another statement (other member, same shape) is no proof here
    other = dataclasses.replace(full, context=Context(5, 9, b"N"))
    with pytest.raises(VerificationError):
        V.verify(st, MarginProof((proof.proofs[0], _chunk_proof(full, derived, 1, seed_of=other)), proof.aux))


# -- batch weights and bisection ---------------------------------------------------------
def _prove_with_tau_offset(st, ops, d):
    """A cheating prover: the range proof's tau_x is off by ``d`` (absorbed
    into the transcript as sent, so every later challenge is consistent):
    the proof's only error is -c*d*H in the t_hat equation."""
    import prover.rangeproof as PR

    orig = PR.transcript_openings

    def shifted(tr, t_hat, tau_x, mu):
        return orig(tr, t_hat, (tau_x + d) % R, mu)

    PR.transcript_openings = shifted
    try:
        _, proof = P.prove_margin(st, ops, rng=RNG)
    finally:
        PR.transcript_openings = orig
    p0 = proof.proofs[0]
    return MarginProof((dataclasses.replace(p0, tau_x=(p0.tau_x + d) % R),), proof.aux)


def _cancelling_pair():
    """Two scan statements: valid proofs, and proofs whose tau_x are off by
    +d and -d -- each invalid, their errors cancel in an unweighted sum."""
    good, bad = [], []
    d = 987654321
    for seed, member, sign in ((11, b"A", 1), (12, b"B", -1)):
        st, ops = scan_statement(6, 2, 10**6, seed=seed, member=member)
        _, proof = P.prove_margin(st, ops, rng=RNG)
        good.append((st, proof))
        bad.append((st, _prove_with_tau_offset(st, ops, sign * d)))
    return good, bad


def test_batch_weights_stop_cancelling_errors(monkeypatch):
    good, bad = _cancelling_pair()
    for st, proof in bad:
        with pytest.raises(VerificationError):
            V.verify(st, proof)
    # with every weight 1 (no random weighting) the two errors cancel: the batch passes
    monkeypatch.setattr(VR, "_weight", lambda: 1)
    V.verify_many(bad)
    monkeypatch.undo()
    # with the real per-proof CSPRNG weights it fails, and bisection names both
    with pytest.raises(V.BatchVerificationError) as ei:
        V.verify_many(bad)
    assert ei.value.failed == [0, 1]
    with pytest.raises(V.BatchVerificationError) as ei:
        V.verify_many([good[0], bad[0], good[1], bad[1]])
    assert ei.value.failed == [1, 3]


def test_batch_weights_are_fresh_per_proof_and_call():
    seen = {VR._weight() for _ in range(64)}
    assert len(seen) == 64 and all(0 < w < 1 << 128 for w in seen)


def test_bisection_names_the_bad_proof_in_a_folded_multi_chunk_batch(two_chunks):
    st, _, _, proof = two_chunks
    scan, sops = scan_statement(5, 2, 10**6, seed=13)
    _, sproof = P.prove_margin(scan, sops, rng=RNG)
    p1 = proof.proofs[1]
    bad = MarginProof((proof.proofs[0], dataclasses.replace(p1, t_hat=(p1.t_hat + 1) % R)), proof.aux)
    with pytest.raises(V.BatchVerificationError) as ei:
        V.verify_many([(scan, sproof), (st, bad), (scan, sproof)])
    assert ei.value.failed == [1]


# -- the float64 column sums at the extremes ----------------------------------------------
TOP = (1 << 64) - 1


def _exact(rows, weights):
    I = len(rows[0])
    return [sum(w * row[i] for w, row in zip(weights, rows)) % R for i in range(I)]


@pytest.mark.parametrize("pattern", ["all_max", "all_min", "alternating_rows", "alternating_cols",
                                     "checker", "int64_edges", "random_extreme"])
def test_blas_colsum_exact_at_the_extremes(pattern):
    S, I = 2048, 8                      # S*I = 2^14 = _BLAS_MIN: the BLAS path
    assert S * I >= ZM._BLAS_MIN and ZM._np is not None
    rnd = random.Random(pattern)
    if pattern == "all_max":
        rows = [[TOP] * I for _ in range(S)]
    elif pattern == "all_min":
        rows = [[-TOP] * I for _ in range(S)]
    elif pattern == "alternating_rows":
        rows = [[TOP if s % 2 else -TOP] * I for s in range(S)]
    elif pattern == "alternating_cols":
        rows = [[TOP if i % 2 else -TOP for i in range(I)] for _ in range(S)]
    elif pattern == "checker":
        rows = [[TOP if (s + i) % 2 else -TOP for i in range(I)] for s in range(S)]
    elif pattern == "int64_edges":  # numpy's own int64 path (|A| < 2^63), at its edges
        edge = [(1 << 63) - 1, -(1 << 63), -1, 1 << 32, -(1 << 32), (1 << 32) - 1, 0, -((1 << 32) + 1)]
        rows = [[edge[(s + i) % len(edge)] for i in range(I)] for s in range(S)]
    else:
        rows = [[rnd.choice((TOP, -TOP, TOP - 1, -(TOP - 1), 1 << 63, -(1 << 63)))
                 for _ in range(I)] for _ in range(S)]
    m = ScenarioMatrix(rows)
    for weights in ([R - 1] * S, [R - 1 if s % 2 else 1 for s in range(S)],
                    [rnd.randrange(R) for _ in range(S)], [(1 << 10) - 1] * S):
        assert m.colsum(weights) == _exact(rows, weights)


def test_blas_limbs_take_the_overflow_path_for_large_entries():
    """Entries >= 2^63 or < -2^63 do not fit numpy's int64: the split goes
    through Python ints (OverflowError path) and stays exact; entries that
    fit go through numpy (both give the same limbs)."""
    np = ZM._np
    cyc = [TOP, -TOP, 1 << 63, -(1 << 63) - 1, (1 << 63) - 1, -(1 << 63), -1, 1]
    big = [[cyc[(s + i) % len(cyc)] for i in range(8)] for s in range(2048)]
    with pytest.raises(OverflowError):
        np.array(big, dtype=np.int64)
    m = ScenarioMatrix(big)
    limbs = m._limbs()
    I = 8
    for s in range(len(cyc)):
        for i in range(I):
            lo, hi = int(limbs[s][i]), int(limbs[s][I + i])
            assert 0 <= lo < 1 << 32 and -(1 << 32) <= hi < 1 << 32
            assert hi * (1 << 32) + lo == big[s][i]
    small = ScenarioMatrix([[v if -(1 << 63) <= v < 1 << 63 else 0 for v in row] for row in big])
    assert (small._limbs()[:, :I] >= 0).all()
    for w in ([R - 1 - s for s in range(2048)], [R - 1] * 2048):
        assert m.colsum(w) == _exact(big, w)
        assert small.colsum(w) == _exact(small.rows, w)
    # the worst partial sum of the float64 product stays below 2^53 (the docstring's bound)
    assert ZM.MAX_SCENARIOS * ((1 << ZM._LIMB) - 1) * (1 << 32) < 1 << 53


# -- folded chunks must be the forms in order --------------------------------------------
class _Interleaved(Margin):
    """A (hypothetical) folded statement whose chunks are not contiguous:
    even forms, then odd forms.  The folded verifier reads a chunk as
    (offset, m): it must refuse such a statement rather than check other
    forms than the ones proved."""

    def range_chunks(self):
        n = self.num_forms()
        return [list(range(0, n, 2)), list(range(1, n, 2))]


def test_folded_chunks_must_be_the_forms_in_order():
    """Scan, S = 4: forms E_0..E_3, E_3 = -1 (one unit short).  Chunks
    [0, 2] and [1, 3] read as (0, 2) and (1, 2) would leave E_3 unchecked: a
    prover proving E_0, E_1 and E_1, E_2 must not pass."""
    I = 1
    matrix = [[0], [1], [2], [-11]]
    (C_cash,), (o_cash,) = committed([10])
    C_pos, o_pos = committed([1])
    st = _Interleaved(Context(5, 9, b"M"), C_cash, tuple(C_pos), matrix, b"set-i")
    assert st.range_chunks() == [[0, 2], [1, 3]] and st.mat.I == I
    derived = st.derive_values([o_cash, *o_pos])
    assert [d.value % R for d in derived] == [10, 11, 12, R - 1]
    gens = generators()
    seed = statement_seed(st)
    contiguous = [P.ChunkJob(seed, k, tuple(derived[i].value for i in idx), tuple(derived[i].blinding for i in idx),
                             64) for k, idx in enumerate(([0, 1], [1, 2]))]
    forged = MarginProof(tuple(P.prove_chunk(j, gens=gens, rng=RNG) for j in contiguous), ())
    with pytest.raises(VerificationError):
        V.verify(st, forged)
    with pytest.raises(V.BatchVerificationError):
        V.verify_many([(st, forged)])


def test_colsum_reduces_weights_outside_the_field():
    """Weights are taken mod r on both paths: negative weights and weights
    of 2^260 or more (beyond the 26 limbs of 10 bits) used to give wrong
    column sums on the BLAS path (the Python path was right)."""
    rows = [[3, -5, TOP, -TOP] * 2 for _ in range(2048)]
    m = ScenarioMatrix(rows)
    for w in ([-1] * 2048, [R + 7] * 2048, [1 << 300] * 2048, [-(R - 1) if s % 2 else s for s in range(2048)]):
        assert m.colsum(w) == _exact(rows, w)
        assert ScenarioMatrix(rows[:3]).colsum(w[:3]) == _exact(rows[:3], w[:3])
