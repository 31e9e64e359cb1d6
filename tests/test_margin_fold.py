"""Folded verification of the margin family (issue 13 §2): the fast fold,
derivation and BLAS column sums equal the reference forms; folded and
unfolded verification agree (accept and reject) on random statements; a
batch names its bad proof; chunk jobs prove anywhere (process pool)."""
from __future__ import annotations

import dataclasses
import random

import pytest

from prover import statements as P
from verifier import statements as V
from zkp.errors import VerificationError
from zkp.field import R, SeededRng
from zkp.generators import generators
from zkp.margin import ScenarioMatrix, _colsum_blas
from zkp.pedersen import Opening
from zkp.statements import (
    AssessmentFromCash,
    Context,
    Margin,
    MarginModel,
    MarginProof,
    StatementProof,
    Withdrawal,
    derive_openings,
    fold_forms,
)

RNG = SeededRng(b"margin-fold")


def committed(values):
    gens = generators()
    ops = [Opening(v, RNG.randbelow(R - 1) + 1) for v in values]
    return [gens.commit(o.value, o.blinding) for o in ops], ops


def variants(rnd, S, I, k):
    """(statement, member openings) of every margin-family kind, all true."""
    matrix = [[0] * I] + [[rnd.randint(-1000, 1000) for _ in range(I)] for _ in range(S - 1)]
    positions = [rnd.randint(-20, 20) for _ in range(I)]
    cash = 10**9
    (C_cash, C_due), (o_cash, o_due) = committed([cash, 1234])
    C_pos, o_pos = committed(positions)
    ctx = Context(2, 9, b"F")
    out = []
    for model in (MarginModel(), MarginModel("es", k)):
        base = Margin(ctx, C_cash, tuple(C_pos), matrix, b"set", model=model)
        out.append((base, [o_cash, *o_pos]))
        out.append((base.solvency(), [o_cash, *o_pos]))
        out.append((Withdrawal(ctx, C_cash, tuple(C_pos), matrix, b"set", False, 555, b"w", model=model),
                    [o_cash, *o_pos]))
        out.append((AssessmentFromCash(ctx, C_cash, tuple(C_pos), matrix, b"set", due=C_due, request=b"r",
                                       model=model), [o_cash, *o_pos, o_due]))
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_fast_paths_equal_the_reference_forms(seed):
    rnd = random.Random(seed)
    for st, ops in variants(rnd, 7, 3, 2):
        full, all_ops, derived = P.margin_witness(st, ops, rng=RNG)
        forms = full.forms()
        assert full.num_forms() == len(forms)
        assert derived == derive_openings(all_ops, forms)
        weights = [rnd.randrange(R) for _ in forms]
        assert full.fold(weights) == fold_forms(forms, len(full.sources()), weights)
        # chunks cover the forms in order, at most 64 values each
        flat = [i for ch in full.range_chunks() for i in ch]
        assert flat == list(range(len(forms))) and all(len(ch) <= 64 for ch in full.range_chunks())


def test_blas_column_sums_are_exact():
    rnd = random.Random(3)
    big = (1 << 64) - 1
    S, I = 300, 70     # above the BLAS threshold
    rows = [[rnd.choice((big, -big, 0, 1, -1, rnd.randint(-big, big))) for _ in range(I)] for _ in range(S)]
    m = ScenarioMatrix(rows)
    for weights in ([R - 1] * S, [rnd.randrange(R) for _ in range(S)], [0] * S):
        want = [sum(w * a for w, a in zip(weights, col)) % R for col in zip(*rows)]
        assert _colsum_blas(m, weights) == want
        assert m.colsum(weights) == want


@pytest.mark.parametrize("seed,S,I", [(5, 3, 1), (6, 33, 4), (7, 9, 2)])
def test_folded_equals_unfolded(seed, S, I):
    """Both checks accept every honest proof and reject the same tampered ones
    (S = 33: an ES statement of two chunks)."""
    rnd = random.Random(seed)
    gens = generators()
    for st, ops in variants(rnd, S, I, 2):
        full, proof = P.prove_margin(st, ops, rng=RNG)
        V.verify(st, proof)
        V.verify_unfolded(st, proof)
        bad_proofs = [
            MarginProof((dataclasses.replace(proof.proofs[-1], t_hat=(proof.proofs[-1].t_hat + 1) % R),)
                        + proof.proofs[1:] if len(proof.proofs) > 1 else
                        (dataclasses.replace(proof.proofs[0], t_hat=(proof.proofs[0].t_hat + 1) % R),),
                        proof.aux),
        ]
        if proof.aux:
            bad_proofs.append(MarginProof(proof.proofs, proof.aux[:-1] + (proof.aux[-1] + gens.H,)))
        for bad in bad_proofs:
            with pytest.raises(VerificationError):
                V.verify(st, bad)
            with pytest.raises(VerificationError):
                V.verify_unfolded(st, bad)
        other = dataclasses.replace(st, cash=st.cash + gens.G)
        for check in (V.verify, V.verify_unfolded):
            with pytest.raises(VerificationError):
                check(other, proof)


def test_batch_of_mixed_margin_statements_names_the_bad_one():
    rnd = random.Random(9)
    items = []
    for st, ops in variants(rnd, 5, 2, 2):
        _, proof = P.prove_margin(st, ops, rng=RNG)
        items.append((st, StatementProof.from_bytes(proof.to_bytes(), st)))
    V.verify_many(items)
    for bad_index in (0, 5, len(items) - 1):
        bad = list(items)
        donor = items[(bad_index + 1) % len(items)][1]
        st, proof = bad[bad_index]
        if isinstance(donor, MarginProof) and len(donor.proofs) == len(proof.proofs) and \
                len(donor.aux) == len(proof.aux):
            bad[bad_index] = (st, donor)
        else:
            p0 = proof.proofs[0]
            bad[bad_index] = (st, MarginProof((dataclasses.replace(p0, mu=(p0.mu + 1) % R),) + proof.proofs[1:],
                                              proof.aux))
        with pytest.raises(V.BatchVerificationError) as ei:
            V.verify_many(bad)
        assert ei.value.failed == [bad_index]


def test_folded_check_needs_a_bound_transcript():
    """A folded chunk on an ordinary transcript is refused (nothing would bind it)."""
    from verifier.rangeproof import FoldedValues, RangeCheck, batch_verify
    from zkp.transcript import Transcript

    rnd = random.Random(10)
    st, ops = variants(rnd, 4, 2, 1)[0]
    _, proof = P.prove_margin(st, ops, rng=RNG)
    checks = V.range_checks(st, proof)
    assert all(isinstance(c.commitments, FoldedValues) for c in checks)
    batch_verify(checks)
    checks = V.range_checks(st, proof)
    bad = [RangeCheck(Transcript(b"plain"), c.commitments, c.proof, c.n) for c in checks]
    with pytest.raises(VerificationError):
        batch_verify(bad)


def test_chunk_jobs_prove_in_the_process_pool():
    """An ES statement of several chunks proved chunk-parallel on two
    worker processes verifies; the chunk job encoding round-trips."""
    from prover.pool import ProverPool, chunk_mapper, decode_chunk_job, encode_chunk_job

    rnd = random.Random(11)
    S, I, k = 40, 3, 4     # 2S + 2 = 82 values: two chunks
    matrix = [[rnd.randint(-500, 500) for _ in range(I)] for _ in range(S)]
    positions = [rnd.randint(-9, 9) for _ in range(I)]
    (C_cash,), (o_cash,) = committed([10**7])
    C_pos, o_pos = committed(positions)
    st = Margin(Context(1, 1, b"P"), C_cash, tuple(C_pos), matrix, b"set", model=MarginModel("es", k))
    full, _, derived = P.margin_witness(st, [o_cash, *o_pos])
    jobs = P.chunk_jobs(full, derived)
    assert len(jobs) == 2 and decode_chunk_job(encode_chunk_job(jobs[1])) == jobs[1]
    assert "values" not in repr(jobs[0]) and str(jobs[0].values[0]) not in repr(jobs[0])
    pool = ProverPool(2)
    try:
        _, proof = P.prove_margin(st, [o_cash, *o_pos], map_chunks=chunk_mapper(pool))
        V.verify(st, StatementProof.from_bytes(proof.to_bytes(), st))
        # the pool's margin batch takes the chunked path for ES statements
        short = dataclasses.replace(st, cash=committed([0])[0][0])
        res = pool.prove_margins([(st, [o_cash, *o_pos])])
        assert res[0] is not None and not res[0][0].solvency_only
        V.verify(st, StatementProof.from_bytes(res[0][1], st))
        assert short.model.k == k
    finally:
        pool.close()


def test_margin_job_encoding_carries_the_model():
    from prover.pool import decode_job, encode_job, prove_job

    rnd = random.Random(12)
    st, ops = variants(rnd, 5, 2, 3)[4]   # ES margin
    assert st.model == MarginModel("es", 3) and type(st) is Margin
    back, back_ops = decode_job(encode_job(st, ops))
    assert back == st and back_ops == ops
    out = prove_job(encode_job(st, ops))
    assert out is not None and out[0] is False
    V.verify(st, StatementProof.from_bytes(out[1], st))


def test_streaming_batch_names_the_bad_proof(monkeypatch):
    """Large batches keep no per-proof vectors; a failure is still named
    exactly (the failing subsets' transcripts are replayed)."""
    import verifier.rangeproof as VR

    monkeypatch.setattr(VR, "STREAM_ABOVE", 0)
    rnd = random.Random(13)
    items = []
    for st, ops in variants(rnd, 4, 2, 2)[:4]:
        _, proof = P.prove_margin(st, ops, rng=RNG)
        items.append((st, StatementProof.from_bytes(proof.to_bytes(), st)))
    V.verify_many(items)
    bad = list(items)
    st, proof = bad[2]
    p0 = proof.proofs[0]
    bad[2] = (st, MarginProof((dataclasses.replace(p0, tau_x=(p0.tau_x + 1) % R),) + proof.proofs[1:], proof.aux))
    with pytest.raises(V.BatchVerificationError) as ei:
        V.verify_many(bad)
    assert ei.value.failed == [2]
