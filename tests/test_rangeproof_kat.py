"""Known-answer vectors for range proofs (tests/vectors/rangeproof_kat.json,
made by tests/vectors/make_rangeproof_kat.py): the prover reproduces every
proof byte for byte from the seeded randomness, the pinned proofs decode and
verify, and the verifier derives exactly the pinned challenges."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.rangeproof import prove_range
from verifier.rangeproof import verify_range
from zkp.errors import VerificationError
from zkp.field import SeededRng
from zkp.generators import generators
from zkp.group import Point
from zkp.rangeproof import RangeProof, challenges_for, padded_m, proof_size
from zkp.transcript import Transcript

KAT = json.loads((Path(__file__).parent / "vectors" / "rangeproof_kat.json").read_text())
CASES = KAT["cases"]


def _transcript(case: dict, name: str | None = None) -> Transcript:
    t = Transcript(case["label"].encode())
    t.append_message(b"case", (name or case["statement"]["case"]).encode())
    return t


def _commitments(case: dict) -> list[Point]:
    return [Point.decode(bytes.fromhex(h)) for h in case["commitments"]]


def test_vector_file_shape():
    assert KAT["generator_set_id"] == generators().set_id.hex()
    assert len(CASES) >= 5
    assert {c["n"] for c in CASES} == {8, 16, 32, 64}
    for case in CASES:
        assert case["proof_len"] == len(bytes.fromhex(case["proof"])) == proof_size(case["n"], case["m"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_commitments_reproduced(case):
    gens = generators()
    values = [int(v) for v in case["values"]]
    blindings = [int(g, 16) for g in case["blindings"]]
    assert [gens.commit(v, g).encode().hex() for v, g in zip(values, blindings)] == case["commitments"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_proof_bytes_reproduced_exactly(case):
    values = [int(v) for v in case["values"]]
    blindings = [int(g, 16) for g in case["blindings"]]
    proof = prove_range(_transcript(case), values, blindings, case["n"], rng=SeededRng(case["seed"]))
    assert proof.to_bytes().hex() == case["proof"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_pinned_proof_verifies_with_pinned_challenges(case):
    n, m = case["n"], case["m"]
    proof = RangeProof.from_bytes(bytes.fromhex(case["proof"]), n, m)
    V = _commitments(case)
    verify_range(_transcript(case), V, proof, n)
    ch = challenges_for(_transcript(case), V, proof, n)
    pinned = case["challenges"]
    assert f"{ch.y:064x}" == pinned["y"]
    assert f"{ch.z:064x}" == pinned["z"]
    assert f"{ch.x:064x}" == pinned["x"]
    assert f"{ch.w:064x}" == pinned["w"]
    assert [f"{u:064x}" for u in ch.u] == pinned["u"]
    assert len(pinned["u"]) == (n * padded_m(m)).bit_length() - 1


def test_pinned_proof_bound_to_its_case():
    case = CASES[1]
    proof = RangeProof.from_bytes(bytes.fromhex(case["proof"]), case["n"], case["m"])
    with pytest.raises(VerificationError):
        verify_range(_transcript(case, name="another-case"), _commitments(case), proof, case["n"])
