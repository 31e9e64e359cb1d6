"""Nothing-up-my-sleeve generators: pinned vectors, distinctness, the sign
rule, the generator-set id recomputed from scratch, and the fast
expand_message_xmd / square-root screening against their references."""
from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from py_ecc.bls.hash import expand_message_xmd as reference_xmd

import zkp.generators as gen_mod
import zkp.group as group_mod
from zkp.field import P, R
from zkp.generators import (
    CAPACITY,
    DOMAIN,
    GENERATOR_SET_ID,
    GeneratorSet,
    expand_message_xmd,
    generator_set_id,
    generators,
    hash_to_curve_affine,
)
from zkp.group import Point, _encode_affine, msm

VECTORS_DIR = Path(__file__).with_name("vectors")
VECTORS = json.loads((VECTORS_DIR / "generators.json").read_text())
PURPOSES = [b"pedersen.G", b"pedersen.H", b"bp.U", b"bp.G", b"bp.H"]
STANDARD = {_encode_affine((1, 2)), _encode_affine((1, P - 2))}


def _vector_script():
    spec = importlib.util.spec_from_file_location(
        "make_generator_vectors", VECTORS_DIR / "make_generator_vectors.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# -- pinned vectors --------------------------------------------------------------

def test_vector_file_covers_every_purpose():
    assert VECTORS["domain"] == DOMAIN.decode()
    assert sorted(VECTORS["first"]) == sorted(p.decode() for p in PURPOSES)


@pytest.mark.parametrize("purpose", PURPOSES)
def test_first_generators_match_vectors(purpose):
    want = VECTORS["first"][purpose.decode()]
    got = [_encode_affine(hash_to_curve_affine(purpose, i)).hex() for i in range(len(want))]
    assert got == want


def test_generator_set_points_match_vectors(backend_name):
    gs = GeneratorSet(Point.generator().b, capacity=8)
    first = VECTORS["first"]
    assert gs.G.encode().hex() == first["pedersen.G"][0]
    assert gs.H.encode().hex() == first["pedersen.H"][0]
    assert gs.U.encode().hex() == first["bp.U"][0]
    n = len(first["bp.G"])
    assert [p.encode().hex() for p in gs.G_vec(n)] == first["bp.G"]
    assert [p.encode().hex() for p in gs.H_vec(n)] == first["bp.H"]


def test_small_set_id_matches_vector():
    assert generator_set_id(8).hex() == VECTORS["set_id"]["8"]


def test_small_set_id_recomputed_by_independent_script():
    script = _vector_script()
    assert script.set_id(8) == VECTORS["set_id"]["8"]
    for purpose in PURPOSES:
        for i in range(2):
            assert script.generator(purpose, i) == hash_to_curve_affine(purpose, i)


def test_pinned_set_id_recomputed_from_scratch(monkeypatch):
    monkeypatch.setattr(gen_mod, "_VECTORS", {})  # no cached generators
    assert generator_set_id.__wrapped__(CAPACITY) == GENERATOR_SET_ID
    assert GENERATOR_SET_ID.hex() == VECTORS["set_id"][str(CAPACITY)]
    assert generators().set_id == GENERATOR_SET_ID


def test_pinned_set_id_by_independent_script():
    # ~5 s: 8,195 generators with plain-int square roots (not marked slow)
    assert _vector_script().set_id(CAPACITY) == GENERATOR_SET_ID.hex()


def test_vector_script_is_up_to_date_for_small_parts():
    script = _vector_script()
    for purpose in PURPOSES:
        assert [script.encode(*script.generator(purpose, i)).hex()
                for i in range(script.FIRST)] == VECTORS["first"][purpose.decode()]


# -- structural properties --------------------------------------------------------

def _all_default_encodings():
    encs = [_encode_affine(hash_to_curve_affine(p, 0)) for p in (b"pedersen.G", b"pedersen.H", b"bp.U")]
    for purpose in (b"bp.G", b"bp.H"):
        encs.extend(_encode_affine(a) for a in gen_mod._affine_vector(purpose, CAPACITY))
    return encs


def test_all_generators_distinct_and_not_the_standard_generator():
    encs = _all_default_encodings()
    assert len(encs) == 3 + 2 * CAPACITY
    assert len(set(encs)) == len(encs)
    assert not STANDARD & set(encs)
    # other indices of the single-base purposes are distinct from everything too
    extra = {_encode_affine(hash_to_curve_affine(p, 1)) for p in (b"pedersen.G", b"pedersen.H", b"bp.U")}
    assert not extra & set(encs)


def test_sign_rule_and_curve_equation():
    for purpose in PURPOSES:
        for i in range(64):
            x, y = hash_to_curve_affine(purpose, i)
            assert 0 <= x < P and 0 < y < P
            assert y % 2 == 0, "fixed rule: the even square root"
            assert (y * y - x**3 - 3) % P == 0
    for purpose in (b"bp.G", b"bp.H"):
        for x, y in gen_mod._affine_vector(purpose, CAPACITY):
            assert y % 2 == 0


def test_index_range():
    with pytest.raises(ValueError):
        hash_to_curve_affine(b"bp.G", -1)
    with pytest.raises(ValueError):
        hash_to_curve_affine(b"bp.G", 1 << 32)
    assert hash_to_curve_affine(b"bp.G", (1 << 32) - 1) != hash_to_curve_affine(b"bp.G", 0)


def test_purposes_and_indices_separate_domains():
    pts = {hash_to_curve_affine(p, i) for p in PURPOSES for i in range(8)}
    assert len(pts) == len(PURPOSES) * 8


# -- fast paths against references ----------------------------------------------------

def test_expand_message_xmd_rfc9380_vectors():
    dst = b"QUUX-V01-CS02-with-expander-SHA256-128"
    assert expand_message_xmd(b"", dst, 0x20).hex() == (
        "68a985b87eb6b46952128911f2a4412bbc302a9d759667f87f7a21d803f07235")
    assert expand_message_xmd(b"abc", dst, 0x20).hex() == (
        "d8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615")


@given(st.binary(max_size=80), st.binary(min_size=1, max_size=255),
       st.sampled_from([1, 31, 32, 33, 48, 64, 65, 255, 256]))
def test_expand_message_xmd_matches_py_ecc(msg, dst, length):
    assert expand_message_xmd(msg, dst, length) == reference_xmd(msg, dst, length, hashlib.sha256)


def test_expand_message_xmd_limits():
    with pytest.raises(ValueError):
        expand_message_xmd(b"m", bytes(256), 32)
    with pytest.raises(ValueError):
        expand_message_xmd(b"m", b"d", 255 * 32 + 1)


def test_screened_and_plain_square_roots_agree(monkeypatch):
    want = [hash_to_curve_affine(p, i) for p in PURPOSES for i in range(6)]
    monkeypatch.setattr(gen_mod, "_legendre", None)
    monkeypatch.setattr(group_mod, "_gmpy2", None)
    assert [hash_to_curve_affine(p, i) for p in PURPOSES for i in range(6)] == want


# -- the GeneratorSet object ---------------------------------------------------------------

def test_generator_set_api(backend_name):
    gs = generators()
    assert gs is generators() and gs.backend.name == backend_name
    assert gs.set_id == GENERATOR_SET_ID
    small = GeneratorSet(gs.backend, capacity=8)
    assert small.set_id == generator_set_id(8) != GENERATOR_SET_ID
    with pytest.raises(ValueError):
        small.G_vec(9)
    assert len(small.G_vec(3)) == 3 and len(small.H_vec(8)) == 8
    assert small.G_vec(2) == small.G_vec(8)[:2]
    v, rho = 123456789, R - 5
    C = gs.commit(v, rho)
    assert C == msm([gs.G, gs.H], [v, rho]) == gs.G * v + gs.H * rho
    assert gs.G_table.mul(v) == gs.G * v and gs.H_table.mul(rho) == gs.H * rho
