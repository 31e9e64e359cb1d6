"""Regenerate tests/vectors/rangeproof_kat.json (range-proof known answers).

    /work/venv/bin/python tests/vectors/make_rangeproof_kat.py

Every case is deterministic: blindings come from SeededRng("<seed>/blindings"),
the prover's randomness (alpha, rho, s_L, s_R, tau1, tau2 in this order) from
SeededRng("<seed>").  The transcript is Transcript(label) followed by
append_message(b"case", name).  The file pins the commitments' encodings,
the exact proof bytes and the challenges y, z, x, w, u_j; a change in any of
them (transcript order, encoding, folding, generators) shows up as a diff.
Test vectors only: the values and blindings are public here on purpose.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from prover.rangeproof import prove_range
from verifier.rangeproof import verify_range
from zkp.field import R, SeededRng
from zkp.generators import generators
from zkp.rangeproof import challenges_for, proof_size
from zkp.transcript import Transcript

LABEL = "zkclear.kat/rangeproof.v1"
OUT = Path(__file__).with_name("rangeproof_kat.json")

CASES = [
    ("n8-m1-zero", 8, [0]),
    ("n8-m3-padded", 8, [255, 1, 77]),
    ("n16-m2-bounds", 16, [65535, 0]),
    ("n32-m1", 32, [123456789]),
    ("n64-m1-max", 64, [2**64 - 1]),
]


def case_transcript(label: str, name: str) -> Transcript:
    t = Transcript(label.encode())
    t.append_message(b"case", name.encode())
    return t


def make_case(name: str, n: int, values: list[int]) -> dict:
    gens = generators()
    seed = f"kat/{name}"
    brng = SeededRng(f"{seed}/blindings")
    blindings = [brng.randbelow(R) for _ in values]
    proof = prove_range(case_transcript(LABEL, name), values, blindings, n, gens=gens, rng=SeededRng(seed))
    V = [gens.commit(v, g) for v, g in zip(values, blindings)]
    data = proof.to_bytes()
    assert len(data) == proof_size(n, len(values))
    verify_range(case_transcript(LABEL, name), V, proof, n, gens=gens)
    ch = challenges_for(case_transcript(LABEL, name), V, proof, n, gens=gens)
    return {
        "name": name,
        "label": LABEL,
        "statement": {"case": name},
        "n": n,
        "m": len(values),
        "values": [str(v) for v in values],
        "blindings": [f"{g:064x}" for g in blindings],
        "seed": seed,
        "commitments": [C.encode().hex() for C in V],
        "proof": data.hex(),
        "proof_len": len(data),
        "challenges": {
            "y": f"{ch.y:064x}", "z": f"{ch.z:064x}", "x": f"{ch.x:064x}", "w": f"{ch.w:064x}",
            "u": [f"{u:064x}" for u in ch.u],
        },
    }


def main() -> int:
    gens = generators()
    doc = {
        "description": "zkclear aggregated Bulletproofs range proofs (BN254 G1): known-answer vectors; "
                       "regenerate with tests/vectors/make_rangeproof_kat.py",
        "generator_set_id": gens.set_id.hex(),
        "cases": [make_case(*c) for c in CASES],
    }
    OUT.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {OUT} ({len(doc['cases'])} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
