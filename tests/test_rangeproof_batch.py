"""Batch verification of range proofs: mixed sizes in one MSM, bisection
naming exactly the failing proofs, edge cases."""
from __future__ import annotations

import dataclasses
from functools import cache

import pytest

from prover.rangeproof import prove_range
from verifier import rangeproof as verifier_mod
from verifier.rangeproof import BatchVerificationError, RangeCheck, batch_verify, verify_range
from zkp.errors import VerificationError
from zkp.field import R, SeededRng
from zkp.generators import generators
from zkp.group import Point
from zkp.transcript import Transcript

LABEL = b"zkclear.test/rangeproof-batch"

# (n, values): mixed n and m, N from 8 to 64
CASES = [
    (8, (1,)),
    (8, (2, 250)),
    (8, (3, 4, 5)),
    (16, (40000,)),
    (8, (0, 255, 7, 9)),
    (16, (1, 2)),
    (8, (6,)),
    (32, (2**32 - 1,)),
    (8, (9, 8, 7)),
    (8, (128, 64)),
]


def _transcript(i: int) -> Transcript:
    t = Transcript(LABEL)
    t.append_u64(b"member", i)
    return t


@cache
def _proof(i: int):
    n, values = CASES[i]
    rng = SeededRng(f"batch/{i}")
    blinds = [rng.randbelow(R) for _ in values]
    proof = prove_range(_transcript(i), list(values), blinds, n, rng=rng)
    gens = generators()
    V = tuple(gens.commit(v, g) for v, g in zip(values, blinds))
    return V, proof


def _check(i: int, *, proof=None, commitments=None, transcript=None) -> RangeCheck:
    V, good = _proof(i)
    return RangeCheck(transcript or _transcript(i), list(commitments or V), proof or good, CASES[i][0])


def _corrupt(i: int, kind: str) -> RangeCheck:
    V, proof = _proof(i)
    gens = generators()
    if kind == "t_hat":
        return _check(i, proof=dataclasses.replace(proof, t_hat=(proof.t_hat + 1) % R))
    if kind == "a":
        return _check(i, proof=dataclasses.replace(proof, a=(proof.a * 2) % R))
    if kind == "L0":
        return _check(i, proof=dataclasses.replace(proof, L=(proof.L[0] + gens.G,) + proof.L[1:]))
    if kind == "commitment":
        return _check(i, commitments=[V[0] + gens.H] + list(V[1:]))
    if kind == "transcript":
        return _check(i, transcript=_transcript(i + 1000))
    if kind == "identity":  # structurally invalid: never reaches the MSM
        return _check(i, proof=dataclasses.replace(proof, S=Point.identity()))
    if kind == "rounds":
        return _check(i, proof=dataclasses.replace(proof, L=proof.L[:-1], R=proof.R[:-1]))
    raise AssertionError(kind)


def _all_good():
    return [_check(i) for i in range(len(CASES))]


def test_each_case_verifies_alone():
    for i in range(len(CASES)):
        V, proof = _proof(i)
        verify_range(_transcript(i), list(V), proof, CASES[i][0])


def test_mixed_batch_verifies_in_one_msm(monkeypatch):
    calls = []
    real = verifier_mod._check

    def counting(terms, weights, gens):
        calls.append(len(terms))
        return real(terms, weights, gens)

    monkeypatch.setattr(verifier_mod, "_check", counting)
    batch_verify(_all_good())
    assert calls == [len(CASES)]


def test_batch_weights_are_fresh_and_128_bit():
    ws = [verifier_mod._weight() for _ in range(64)]
    assert len(set(ws)) == 64
    assert all(0 < w < 2**128 for w in ws)
    assert max(w.bit_length() for w in ws) > 120


def test_empty_batch_is_a_noop():
    batch_verify([])
    batch_verify(iter(()))


def test_batch_of_one():
    batch_verify([_check(3)])
    with pytest.raises(BatchVerificationError) as exc:
        batch_verify([_corrupt(3, "t_hat")])
    assert exc.value.failed == [0]


@pytest.mark.parametrize("kind", ["t_hat", "a", "L0", "commitment", "transcript", "identity", "rounds"])
def test_one_bad_proof_is_named_exactly(kind):
    bad = 6
    checks = _all_good()
    checks[bad] = _corrupt(bad, kind)
    with pytest.raises(BatchVerificationError) as exc:
        batch_verify(checks)
    assert exc.value.failed == [bad]
    assert isinstance(exc.value, VerificationError)
    assert str(exc.value) == str(VerificationError())  # says nothing about why


@pytest.mark.parametrize("bad", [(0, 4, 9), (1, 2, 3), (5, 7, 8)])
def test_three_bad_proofs_are_named_exactly(bad):
    kinds = ["t_hat", "commitment", "L0"]
    checks = _all_good()
    for idx, kind in zip(bad, kinds):
        checks[idx] = _corrupt(idx, kind)
    with pytest.raises(BatchVerificationError) as exc:
        batch_verify(checks)
    assert exc.value.failed == sorted(bad)


def test_structural_and_arithmetic_failures_together():
    checks = _all_good()
    checks[2] = _corrupt(2, "identity")
    checks[8] = _corrupt(8, "a")
    checks[5] = RangeCheck(_transcript(5), [], _proof(5)[1], 16)
    with pytest.raises(BatchVerificationError) as exc:
        batch_verify(checks)
    assert exc.value.failed == [2, 5, 8]


def test_all_bad():
    checks = [_corrupt(i, "t_hat") for i in range(4)]
    with pytest.raises(BatchVerificationError) as exc:
        batch_verify(checks)
    assert exc.value.failed == [0, 1, 2, 3]


def test_same_proof_twice_and_wrong_n():
    batch_verify([_check(1), _check(1)])
    V, proof = _proof(1)
    checks = [_check(1), RangeCheck(_transcript(1), list(V), proof, 16)]
    with pytest.raises(BatchVerificationError) as exc:
        batch_verify(checks)
    assert exc.value.failed == [1]


def test_bisection_reuses_cached_terms(monkeypatch):
    """Each proof's transcript is replayed once, however deep the bisection."""
    calls = []
    real = verifier_mod._terms

    def counting(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(verifier_mod, "_terms", counting)
    checks = _all_good()
    checks[3] = _corrupt(3, "t_hat")
    checks[7] = _corrupt(7, "a")
    with pytest.raises(BatchVerificationError) as exc:
        batch_verify(checks)
    assert exc.value.failed == [3, 7]
    assert len(calls) == len(CASES)


def test_batch_with_explicit_generator_set():
    gens = generators()
    batch_verify(_all_good()[:3], gens=gens)
