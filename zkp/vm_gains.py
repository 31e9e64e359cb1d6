"""VM gains haircutting (tranche 8 of the default waterfall): the statements
and the proof container shared by :mod:`prover.vm_gains` and
:mod:`verifier.vm_gains`.

Setting.  After the assessments, a default event may leave a loss U > 0.
It is borne by the survivors that gained variation margin in the default's
cycle, pro rata to their gain g_j = max(0, vm_j).  vm_j is hidden: the
node holds a commitment C_vm[j] to it (the cycle's VM, snapshotted when the
event opened).  The prover commits C_g[j] = g_j*G + gamma_j*H and proves,
for every survivor j (v(C) is the value committed in C):

``VmGains`` (range part, one aggregated range proof per chunk of at most
GAINS_PER_PROOF survivors)::

    g_j           in [0, 2^64)       derived: C_g[j]
    g_j - vm_j    in [0, 2^64)       derived: C_g[j] - C_vm[j]

and the OR part, one :class:`~zkp.sigma_or.OrZeroProof` per survivor::

    C_g[j] - C_vm[j] commits to 0   OR   C_g[j] commits to 0

Soundness.  If g_j = vm_j then vm_j = g_j >= 0 and g_j = max(0, vm_j); if
g_j = 0 then -vm_j = g_j - vm_j >= 0, so vm_j <= 0 and again g_j =
max(0, vm_j).  No wrap-around: |vm_j| < 2^117 (DESIGN §4's cash bound), so
with g_j in [0, 2^64) the integer g_j - vm_j is below r/2 in absolute value
and its range proof is a statement about integers.  A survivor whose gain
is 2^64 or more cannot be proven (the run stops there; the bound is far
above any real VM in minor units).  The total G = sum_j g_j is then opened
over the *full* survivor set (an :class:`~zkp.statements.AggregateOpening`,
never a subset; with fewer than three survivors the default discloses by
policy, DESIGN §2).

``VmGainsShares`` (U < G): the pro-rata haircut h_j = floor(U*g_j / G),
exactly :class:`~zkp.statements.ProRataShares` with the gain commitments in
place of the default-fund snapshot and D0 = G (cap multiple 1: h_j <= g_j),
under its own KIND so no proof moves between the tranches.  When U >= G
every survivor loses its whole gain (h_j = g_j, homomorphically, no proof).

Transcript order (each chunk statement, :meth:`Statement.transcript`)::

    Transcript(b"zkclear.v1/vm-gains"), "curve", "gens", context (cycle,
    the event's opening seq, b"ccp"), "U" (u64), "N" (u64, all survivors),
    every survivor id ("survivor", in order), "chunk" (u64 index),
    "first" (u64), "n" (u64), "vm" (points of the chunk), "gains" (points
    of the chunk)

then the aggregated range proof of the chunk on a fork (``chunk_transcript``
with the chunk index), and survivor j's OR-proof on another fork that
absorbs ("or", u64 j) (j the index among all survivors).

Encoding of :class:`VmGainsProof` (strict: exact counts, no trailing bytes,
every part decoded strictly)::

    u16 N (survivors) || u16 K (chunks) || K x (u32 len || StatementProof)
    || N x OrZeroProof (192 bytes each)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import DecodeError
from .group import Point
from .sigma_or import OR_ZERO_PROOF_BYTES, OrZeroProof
from .statement_base import _check_int, _check_point, _member_bytes
from .statements import (
    AMOUNT_BITS,
    MAX_DF_TOTAL,
    MAX_PUBLIC_AMOUNT,
    Context,
    LinearForm,
    ProRataShares,
    Statement,
    StatementError,
    StatementProof,
)
from .transcript import Transcript

#: Survivors per aggregated range proof: 2 values each, m <= 64.
GAINS_PER_PROOF = 32
#: Most survivors a VM-gains proof covers (u16 counts).
MAX_SURVIVORS = (1 << 16) - 1
PURPOSE_GAINS = b"vm-gains"
PURPOSE_HAIRCUT = b"vm-gains-haircut"


@dataclass(frozen=True)
class VmGains(Statement):
    """One chunk of the VM-gains statement (see the module docstring):
    survivors ``first .. first + len(members) - 1`` of ``population``."""

    KIND = b"vm-gains"
    BITS = AMOUNT_BITS
    context: Context
    U: int
    population: tuple[bytes, ...]
    chunk: int
    first: int
    vm: tuple[Point, ...]
    gains: tuple[Point, ...]

    def __post_init__(self) -> None:
        _check_int("U", self.U, 1, MAX_PUBLIC_AMOUNT)
        object.__setattr__(self, "population", tuple(_member_bytes(m) for m in self.population))
        object.__setattr__(self, "vm", tuple(self.vm))
        object.__setattr__(self, "gains", tuple(self.gains))
        N = len(self.population)
        if not 0 < N <= MAX_SURVIVORS or len(set(self.population)) != N:
            raise StatementError("the survivors must be 1..65535 distinct ids")
        n = len(self.gains)
        if not 0 < n <= GAINS_PER_PROOF or len(self.vm) != n:
            raise StatementError(f"a chunk has 1..{GAINS_PER_PROOF} survivors, one vm and one gain each")
        _check_int("chunk", self.chunk, 0, N)
        _check_int("first", self.first, 0, N)
        if self.first != self.chunk * GAINS_PER_PROOF or self.first + n > N:
            raise StatementError("chunk boundaries do not match the survivor list")
        for i, p in enumerate(self.vm):
            _check_point(f"vm[{i}]", p)
        for i, p in enumerate(self.gains):
            _check_point(f"gains[{i}]", p)

    def sources(self) -> list[Point]:
        return [*self.vm, *self.gains]

    def forms(self) -> list[LinearForm]:
        n = len(self.gains)
        out = []
        for j in range(n):
            out.append(LinearForm(0, ((n + j, 1),)))
            out.append(LinearForm(0, ((n + j, 1), (j, -1))))
        return out

    def or_statement(self, j: int) -> tuple[Point, Point]:
        """(C_0, C_1) of survivor ``first + j``'s OR-proof: (C_g - C_vm, C_g)."""
        return self.gains[j] - self.vm[j], self.gains[j]

    def or_transcript(self, j: int, base: Transcript | None = None) -> Transcript:
        t = (base or self.transcript()).clone()
        t.append_u64(b"or", self.first + j)
        return t

    def _bind(self, t: Transcript) -> None:
        t.append_u64(b"U", self.U)
        t.append_u64(b"N", len(self.population))
        for m in self.population:
            t.append_message(b"survivor", m)
        t.append_u64(b"chunk", self.chunk)
        t.append_u64(b"first", self.first)
        t.append_u64(b"n", len(self.gains))
        t.append_points(b"vm", self.vm)
        t.append_points(b"gains", self.gains)


def vm_gains_statements(context: Context, U: int, members: Sequence[bytes], vm: Sequence[Point],
                        gains: Sequence[Point]) -> list[VmGains]:
    """The chunk statements over every survivor, in order."""
    members, vm, gains = tuple(members), tuple(vm), tuple(gains)
    if not members or len(vm) != len(members) or len(gains) != len(members):
        raise StatementError("members, vm and gains must have the same non-zero length")
    return [VmGains(context, U, members, k, a, vm[a:a + GAINS_PER_PROOF], gains[a:a + GAINS_PER_PROOF])
            for k, a in enumerate(range(0, len(members), GAINS_PER_PROOF))]


@dataclass(frozen=True)
class VmGainsShares(ProRataShares):
    """h_j = floor(U * g_j / G) for every survivor j: the pro-rata relation
    of :class:`~zkp.statements.ProRataShares` with ``df`` = the gain
    commitments C_g[j], ``D0`` = G (opened) and ``R_amount`` = U, where
    1 <= U < G (cap multiple 1, so h_j <= g_j).  Purpose b"vm-gains-haircut"."""

    KIND = b"vm-gains-pro-rata"

    def __post_init__(self) -> None:
        if self.purpose != PURPOSE_HAIRCUT or self.cap_multiple != 1:
            raise StatementError("purpose must be b'vm-gains-haircut' with cap multiple 1")
        _check_int("G", self.D0, 1, MAX_DF_TOTAL)
        _check_int("U", self.R_amount, 1, min(self.D0, MAX_PUBLIC_AMOUNT))
        object.__setattr__(self, "members", tuple(_member_bytes(m) for m in self.members))
        object.__setattr__(self, "df", tuple(self.df))
        object.__setattr__(self, "shares", tuple(self.shares))
        n = len(self.members)
        if n == 0 or len(self.df) != n or len(self.shares) != n:
            raise StatementError("members, gains and shares must have the same non-zero length")
        if len(set(self.members)) != n:
            raise StatementError("duplicate survivor id")
        for i, p in enumerate(self.df):
            _check_point(f"gains[{i}]", p)
        for i, p in enumerate(self.shares):
            _check_point(f"shares[{i}]", p)


@dataclass(frozen=True)
class VmGainsProof:
    """The range proofs of every chunk and one OR-proof per survivor."""

    ranges: tuple[StatementProof, ...]
    ors: tuple[OrZeroProof, ...]

    def to_bytes(self) -> bytes:
        out = bytearray(len(self.ors).to_bytes(2, "big") + len(self.ranges).to_bytes(2, "big"))
        for p in self.ranges:
            b = p.to_bytes()
            out += len(b).to_bytes(4, "big") + b
        for o in self.ors:
            out += o.to_bytes()
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes, statements: Sequence[VmGains]) -> VmGainsProof:
        """Decode against the chunk statements it must prove (their count and
        sizes fix the layout)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DecodeError("VM-gains proof must be bytes")
        data = bytes(data)
        N = sum(len(st.gains) for st in statements)
        if len(data) < 4 or int.from_bytes(data[:2], "big") != N \
                or int.from_bytes(data[2:4], "big") != len(statements):
            raise DecodeError("VM-gains proof: wrong survivor or chunk count")
        pos = 4
        ranges = []
        for st in statements:
            if len(data) < pos + 4:
                raise DecodeError("VM-gains proof truncated")
            ln = int.from_bytes(data[pos:pos + 4], "big")
            pos += 4
            if len(data) < pos + ln:
                raise DecodeError("VM-gains proof truncated")
            ranges.append(StatementProof.from_bytes(data[pos:pos + ln], st))
            pos += ln
        if len(data) - pos != N * OR_ZERO_PROOF_BYTES:
            raise DecodeError("VM-gains proof: wrong length of the OR-proofs")
        ors = tuple(OrZeroProof.from_bytes(data[pos + k * OR_ZERO_PROOF_BYTES: pos + (k + 1) * OR_ZERO_PROOF_BYTES])
                    for k in range(N))
        return cls(tuple(ranges), ors)


__all__ = ["VmGains", "VmGainsShares", "VmGainsProof", "vm_gains_statements", "GAINS_PER_PROOF",
           "PURPOSE_GAINS", "PURPOSE_HAIRCUT"]
