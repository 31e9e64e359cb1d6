"""Fiat-Shamir transcript with framed, labelled absorption.

The *application* creates a :class:`Transcript` with a protocol label (for
example ``b"zkclear.v1/margin"``); proof code only extends it.  Every item is
absorbed as a frame::

    u32be(len(label)) || label || u64be(len(data)) || data

into a running SHA-512 state, so no two different sequences of items can
produce the same byte stream (no ambiguity between "ab","c" and "a","bc").

Challenges: a copy of the state absorbs the frame ("challenge", label) and a
64-byte digest is squeezed; the scalar is that 512-bit integer mod r (bias
< 2^-250).  The digest is then absorbed into the running state, so every
later challenge depends on every earlier one.  A zero challenge raises
:class:`~zkp.errors.TranscriptError` rather than being used.

Domain separation: each protocol calls :meth:`Transcript.domain_sep` with its
own name and parameters before absorbing its statement (a
"protocol extension" in the style of Merlin / dalek's TranscriptProtocol).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .errors import TranscriptError
from .field import R, encode_scalar

if TYPE_CHECKING:  # for annotations only; append_points imports zkp.group lazily
    from .group import Point

_FRAME_VERSION = b"zkclear-transcript-v1"
CHALLENGE_BYTES = 64


class Transcript:
    __slots__ = ("_h",)

    def __init__(self, protocol_label: bytes | str):
        if isinstance(protocol_label, str):
            protocol_label = protocol_label.encode()
        self._h = hashlib.sha512()
        self.append_message(b"dom-sep", _FRAME_VERSION)
        self.append_message(b"protocol", protocol_label)

    # -- absorption ----------------------------------------------------------
    def append_message(self, label: bytes | str, data: bytes | bytearray | memoryview) -> None:
        if isinstance(label, str):
            label = label.encode()
        data = bytes(data)
        self._h.update(len(label).to_bytes(4, "big") + label + len(data).to_bytes(8, "big") + data)

    def append_u64(self, label: bytes, value: int) -> None:
        if not 0 <= value < 1 << 64:
            raise ValueError("u64 out of range")
        self.append_message(label, value.to_bytes(8, "big"))

    def append_int(self, label: bytes, value: int) -> None:
        """A signed integer of any size, length-framed (two's complement)."""
        nbytes = max(1, (value.bit_length() + 8) // 8)
        self.append_message(label, value.to_bytes(nbytes, "big", signed=True))

    def append_scalar(self, label: bytes, k: int) -> None:
        self.append_message(label, encode_scalar(k % R))

    def append_point(self, label: bytes, point: Point) -> None:
        self.append_message(label, point.encode())

    def append_points(self, label: bytes, points: Iterable[Point]) -> None:
        from .group import encode_points

        encs = encode_points(list(points))
        self.append_u64(label + b".len", len(encs))
        for e in encs:
            self.append_message(label, e)

    def domain_sep(self, name: bytes, **params: int) -> None:
        """Protocol domain separator with integer parameters (n, m, ...)."""
        self.append_message(b"dom-sep", name)
        for key in sorted(params):
            self.append_u64(key.encode(), params[key])

    # -- squeezing -----------------------------------------------------------
    def challenge_bytes(self, label: bytes | str, nbytes: int = CHALLENGE_BYTES) -> bytes:
        if isinstance(label, str):
            label = label.encode()
        fork = self._h.copy()
        fork.update(len(b"challenge").to_bytes(4, "big") + b"challenge" + len(label).to_bytes(8, "big") + label)
        out = b""
        ctr = 0
        while len(out) < nbytes:
            f = fork.copy()
            f.update(ctr.to_bytes(4, "big"))
            out += f.digest()
            ctr += 1
        out = out[:nbytes]
        self.append_message(b"challenge-out", out)
        return out

    def challenge_scalar(self, label: bytes) -> int:
        c = int.from_bytes(self.challenge_bytes(label, CHALLENGE_BYTES), "big") % R
        if c == 0:
            raise TranscriptError("zero challenge")
        return c

    def clone(self) -> Transcript:
        t = Transcript.__new__(Transcript)
        t._h = self._h.copy()
        return t
