"""Fiat-Shamir transcript: framing, labels, clones, dependence on every
absorbed item, the zero-challenge refusal, and a pinned known answer."""
from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkp.errors import TranscriptError
from zkp.field import R
from zkp.group import Point, _load
from zkp.transcript import CHALLENGE_BYTES, Transcript

LABEL = b"zkclear.test/transcript"
G = Point.generator(_load("ints"))


def chal(t: Transcript, label=b"c") -> int:
    return t.clone().challenge_scalar(label)


def build(ops) -> Transcript:
    t = Transcript(LABEL)
    for name, args, kwargs in ops:
        getattr(t, name)(*args, **kwargs)
    return t


BASE_OPS = [
    ("domain_sep", (b"proto",), {"n": 64, "m": 2}),
    ("append_message", (b"msg", b"hello"), {}),
    ("append_u64", (b"seq", 17), {}),
    ("append_int", (b"amount", -250), {}),
    ("append_scalar", (b"s", 12345), {}),
    ("append_point", (b"P", G * 5), {}),
    ("append_points", (b"V", [G * 7, G * 8]), {}),
]

# one changed value per item of BASE_OPS
CHANGED = [
    ("domain_sep", (b"proto",), {"n": 64, "m": 4}),
    ("append_message", (b"msg", b"hellp"), {}),
    ("append_u64", (b"seq", 18), {}),
    ("append_int", (b"amount", 250), {}),
    ("append_scalar", (b"s", 12346), {}),
    ("append_point", (b"P", G * 6), {}),
    ("append_points", (b"V", [G * 7, G * 9]), {}),
]


def test_framing_separates_label_and_data_boundaries():
    t1, t2 = Transcript(LABEL), Transcript(LABEL)
    t1.append_message(b"ab", b"c")
    t2.append_message(b"a", b"bc")
    assert chal(t1) != chal(t2)
    t3, t4 = Transcript(LABEL), Transcript(LABEL)
    for d in (b"ab", b"c"):
        t3.append_message(b"m", d)
    for d in (b"a", b"bc"):
        t4.append_message(b"m", d)
    assert chal(t3) != chal(t4)
    t5, t6 = Transcript(LABEL), Transcript(LABEL)
    t5.append_message(b"m", b"")
    t5.append_message(b"", b"m")
    t6.append_message(b"m", b"m")
    assert chal(t5) != chal(t6)


def test_deterministic_and_label_types():
    assert chal(build(BASE_OPS)) == chal(build(BASE_OPS))
    t1, t2 = Transcript("zkclear.test/transcript"), Transcript(LABEL)
    t1.append_message("m", b"x")
    t2.append_message(b"m", b"x")
    assert chal(t1, "c") == chal(t2, b"c")


def test_protocol_label_matters():
    assert chal(Transcript(b"a")) != chal(Transcript(b"b"))


def test_challenges_differ_by_label_and_in_sequence():
    t = build(BASE_OPS)
    assert chal(t, b"x") != chal(t, b"y")
    c1 = t.challenge_scalar(b"x")
    c2 = t.challenge_scalar(b"x")  # the first output was absorbed
    assert c1 != c2
    assert 0 < c1 < R and 0 < c2 < R


def test_clone_independence():
    t = build(BASE_OPS)
    c = t.clone()
    c.append_message(b"extra", b"1")
    assert chal(t) == chal(build(BASE_OPS))
    assert chal(c) != chal(t)
    c.challenge_scalar(b"y")
    assert chal(t) == chal(build(BASE_OPS))
    t.append_message(b"extra", b"1")
    c2 = build(BASE_OPS)
    c2.append_message(b"extra", b"1")
    assert chal(t) == chal(c2)


@pytest.mark.parametrize("i", range(len(BASE_OPS)))
def test_challenge_depends_on_every_item(i):
    base = chal(build(BASE_OPS))
    changed = BASE_OPS[:i] + [CHANGED[i]] + BASE_OPS[i + 1:]
    assert chal(build(changed)) != base
    dropped = BASE_OPS[:i] + BASE_OPS[i + 1:]
    assert chal(build(dropped)) != base
    relabelled = list(BASE_OPS)
    name, args, kwargs = BASE_OPS[i]
    if name != "domain_sep":
        relabelled[i] = (name, (args[0] + b"!",) + args[1:], kwargs)
        assert chal(build(relabelled)) != base


def test_order_of_items_matters():
    swapped = [BASE_OPS[1], BASE_OPS[0]] + BASE_OPS[2:]
    assert chal(build(swapped)) != chal(build(BASE_OPS))


def test_challenge_depends_on_earlier_challenges():
    t1, t2 = build(BASE_OPS), build(BASE_OPS)
    t1.challenge_scalar(b"y")
    t2.challenge_scalar(b"z")
    assert chal(t1) != chal(t2)


def test_zero_challenge_raises(monkeypatch):
    t = build(BASE_OPS)
    monkeypatch.setattr(Transcript, "challenge_bytes",
                        lambda self, label, nbytes=CHALLENGE_BYTES: R.to_bytes(nbytes, "big"))
    with pytest.raises(TranscriptError):
        t.challenge_scalar(b"c")
    monkeypatch.setattr(Transcript, "challenge_bytes",
                        lambda self, label, nbytes=CHALLENGE_BYTES: bytes(nbytes))
    with pytest.raises(TranscriptError):
        t.challenge_scalar(b"c")
    monkeypatch.setattr(Transcript, "challenge_bytes",
                        lambda self, label, nbytes=CHALLENGE_BYTES: (R + 1).to_bytes(nbytes, "big"))
    assert t.challenge_scalar(b"c") == 1


@pytest.mark.parametrize("n", [1, 32, 64, 65, 130])
def test_challenge_bytes_lengths(n):
    t = build(BASE_OPS)
    out = t.clone().challenge_bytes(b"c", n)
    assert len(out) == n
    assert out != t.clone().challenge_bytes(b"d", n)


def test_wide_challenge():
    assert CHALLENGE_BYTES >= 64


def test_integer_encodings():
    with pytest.raises(ValueError):
        Transcript(LABEL).append_u64(b"x", -1)
    with pytest.raises(ValueError):
        Transcript(LABEL).append_u64(b"x", 1 << 64)
    vals = [0, 1, -1, 127, 128, 255, -128, -129, 2**70, -(2**70)]
    seen = set()
    for v in vals:
        t = Transcript(LABEL)
        t.append_int(b"v", v)
        seen.add(chal(t))
    assert len(seen) == len(vals)


@given(st.integers(min_value=0, max_value=2**300))
def test_append_scalar_reduces_mod_r(k):
    t1, t2 = Transcript(LABEL), Transcript(LABEL)
    t1.append_scalar(b"s", k)
    t2.append_scalar(b"s", k % R)
    assert chal(t1) == chal(t2)


def test_append_points_is_length_framed():
    t1, t2 = Transcript(LABEL), Transcript(LABEL)
    t1.append_points(b"V", [G, G * 2])
    t2.append_points(b"V", [G])
    t2.append_points(b"V", [G * 2])
    assert chal(t1) != chal(t2)
    t3 = Transcript(LABEL)
    t3.append_points(b"V", [])
    assert chal(t3) != chal(Transcript(LABEL))


def test_points_absorbed_by_encoding_on_any_backend():
    t1, t2 = Transcript(LABEL), Transcript(LABEL)
    t1.append_point(b"P", G * 5)
    t2.append_point(b"P", Point.generator(_load("pyecc")) * 5)
    assert chal(t1) == chal(t2)


def test_domain_sep_parameters():
    t1, t2, t3 = Transcript(LABEL), Transcript(LABEL), Transcript(LABEL)
    t1.domain_sep(b"p", n=1, m=2)
    t2.domain_sep(b"p", m=2, n=1)  # keyword order does not matter
    t3.domain_sep(b"p", n=2, m=1)
    assert chal(t1) == chal(t2) != chal(t3)


def _frame(label: bytes, data: bytes) -> bytes:
    return len(label).to_bytes(4, "big") + label + len(data).to_bytes(8, "big") + data


def test_known_answer():
    """Pins the framing: any change to the byte layout changes this value.
    It is also recomputed here from the documented layout with hashlib."""
    t = Transcript(b"zkclear.test/kat")
    t.append_message(b"m", b"abc")
    t.append_u64(b"n", 64)
    h = hashlib.sha512(_frame(b"dom-sep", b"zkclear-transcript-v1") + _frame(b"protocol", b"zkclear.test/kat")
                       + _frame(b"m", b"abc") + _frame(b"n", (64).to_bytes(8, "big")))
    h.update(_frame(b"challenge", b"c") + (0).to_bytes(4, "big"))
    assert int.from_bytes(h.digest(), "big") % R == KAT_CHALLENGE
    assert t.challenge_scalar(b"c") == KAT_CHALLENGE


KAT_CHALLENGE = 16369404279820782371810668546005223982182988549022707003774255061929001180318
