"""Regenerate tests/vectors/generators.json from the specification alone.

This is an independent re-implementation of the hash-to-curve described in
zkp/generators.py (it does not import zkp): py_ecc's expand_message_xmd,
plain-int arithmetic, y = rhs^((p+1)/4) with the even root chosen, and the
compressed encoding (big-endian x, 0x80 set iff y is odd).  It records the
first few generators of every purpose and the generator-set ids of a small
capacity and of the default capacity 64*64.

    python tests/vectors/make_generator_vectors.py        # rewrite the JSON
    python tests/vectors/make_generator_vectors.py --check  # compare only
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from py_ecc.bls.hash import expand_message_xmd

P = 21888242871839275222246405745257275088696311157297823662689037894645226208583
DOMAIN = b"zkclear:v1:BN254-G1:generators:"
PURPOSES = [b"pedersen.G", b"pedersen.H", b"bp.U", b"bp.G", b"bp.H"]
FIRST = 4
SMALL_CAPACITY = 8
DEFAULT_CAPACITY = 64 * 64
OUT = Path(__file__).with_name("generators.json")


def generator(purpose: bytes, index: int) -> tuple[int, int]:
    for ctr in range(256):
        u = expand_message_xmd(index.to_bytes(4, "big") + bytes([ctr]), DOMAIN + purpose, 48,
                               hashlib.sha256)
        x = int.from_bytes(u, "big") % P
        rhs = (x ** 3 + 3) % P
        y = pow(rhs, (P + 1) // 4, P)
        if y * y % P == rhs:
            return (x, P - y if y % 2 else y)
    raise RuntimeError("no point in 256 tries")


def encode(x: int, y: int) -> bytes:
    out = bytearray(x.to_bytes(32, "big"))
    if y % 2:
        out[0] |= 0x80
    return bytes(out)


def set_id(capacity: int) -> str:
    h = hashlib.sha256()
    h.update(DOMAIN + b"set-id")
    h.update(capacity.to_bytes(4, "big"))
    for purpose in (b"pedersen.G", b"pedersen.H", b"bp.U"):
        h.update(encode(*generator(purpose, 0)))
    for purpose in (b"bp.G", b"bp.H"):
        for i in range(capacity):
            h.update(encode(*generator(purpose, i)))
    return h.hexdigest()


def build() -> dict:
    return {
        "description": "first generators per purpose (32-byte compressed encodings, hex) and "
                       "generator-set ids; made by tests/vectors/make_generator_vectors.py",
        "domain": DOMAIN.decode(),
        "first": {p.decode(): [encode(*generator(p, i)).hex() for i in range(FIRST)]
                  for p in PURPOSES},
        "set_id": {str(SMALL_CAPACITY): set_id(SMALL_CAPACITY),
                   str(DEFAULT_CAPACITY): set_id(DEFAULT_CAPACITY)},
    }


def main(argv: list[str]) -> int:
    data = build()
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if "--check" in argv:
        same = OUT.read_text() == text
        print("up to date" if same else "DIFFERS")
        return 0 if same else 1
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
