"""Margin statements (DESIGN §5.3, issue 13): the worst-case scan and
expected shortfall (ES), for margin, withdrawal and assessment-from-cash.

Public data: the member's commitments C(cash), C(pos_1..pos_I) (and C(due)
for AssessmentFromCash), the operator-signed per-contract P&L array A[s][i]
(S x I, :class:`ScenarioMatrix`), the scenario set id, the margin model
(:class:`MarginModel`: "scan", or "es" with k tail scenarios) and the
public amounts.  With P&L_s = sum_i A[s][i]*pos_i, L_s = -P&L_s and

    cash' = cash           (Margin)
          = cash - w       (Withdrawal, public 0 < w < 2^63)
          = cash - due     (AssessmentFromCash, committed due)

the statement shows, in aggregated 64-bit range proofs (every listed value
in [0, 2^64)):

scan   E_s = cash' + P&L_s for every s (row 0 is "no move", all zeros, so
       E_0 = cash': solvency) -- S values; passes iff cash' >= 0 and
       cash' >= max_s L_s.
es     the prover adds commitments T = C(t) (t any integer, committed as
       t mod r -- a *signed* argument, no offset) and E_s = C(e_s), and
       shows  cash',  e_s  and  x_s = e_s + P&L_s + t  for every s,  and
       f = k*cash' - k*t - sum_s e_s  -- 2S + 2 values.  Rockafellar-
       Uryasev: for every integer t, k*t + sum_s max(0, L_s - t) >=
       topk_sum (the sum of the k largest L_s: each of the top k is
       <= t + max(0, L_s - t)), and e_s >= max(0, L_s - t) by the range
       facts, so k*cash' >= k*t + sum e_s >= topk_sum: the member passes
       iff cash' >= 0 and k*cash' >= topk_sum, i.e. cash' >= requirement =
       max(0, ceil(topk_sum / k)).  A t chosen badly only raises the bound.
       The honest prover uses t = the k-th largest loss, e_s =
       max(0, L_s - t); it needs every value below 2^64 (as scan needs
       cash' + P&L_s < 2^64): |L_s - t| < 2^64 and k*(cash' - ES) < 2^64.
solvency-only (either model): cash' alone (1 value) -- what the node
       needs to tell an IM call from a payment default.

No wrap-around (the bound argument, DESIGN §4, for the new limits)
-----------------------------------------------------------------
Arithmetic is mod r > 2^253; it equals integer arithmetic while every
integer involved stays below r/2 in absolute value.  Entry checks give
S <= 2^11 scenarios, I <= 2^12 instruments, |A[s][i]| < 2^64, |pos_i| <
2^52 (quantities <= 2^32, at most 2^20 trades per member and instrument),
|cash| < 2^116 (clearing/protocol bounds; far below in practice), 0 <= due
< 2^64 (range-bound payable), 0 < w < 2^63, 1 <= k <= S.  Hence
|P&L_s| < 2^12 * 2^64 * 2^52 = 2^128 and |cash'| < 2^117.

* scan: |E_s| < 2^117 + 2^128 < 2^129 << r/2, so E_s in [0, 2^64) mod r
  means the integer E_s is in [0, 2^64).
* es: t and e_s are whatever the prover committed (field elements).  The
  range facts give e_s in [0, 2^64) and cash' in [0, 2^64) as integers.
  Let t* = x_0 - e_0 - P&L_0 (an integer, |t*| < 2^64 + 2^64 + 2^128 <
  2^129) with t = t* mod r; then e_s + P&L_s + t* = x_s holds mod r and
  both sides are integers below 2^130 in absolute value, so it holds over
  the integers: e_s >= L_s - t* for every s.  Finally |k*cash' - k*t* -
  sum e_s| < 2^11*2^64 + 2^11*2^129 + 2^11*2^64 < 2^141 << r/2, so f in
  [0, 2^64) means k*cash' - k*t* - sum e_s >= 0 over the integers, and the
  Rockafellar-Uryasev argument above applies to the integer t*.  No range
  proof on t is needed.

Binding (transcript order after the common prefix of zkp.statement_base)
-----------------------------------------------------------------------
    "solvency-only" u64, "model" kind ("scan" / "es"), "k" u64, "S", "I",
    "scenario-set" the scenario set id -- or, when the id is empty,
    "matrix-digest" = :meth:`ScenarioMatrix.digest` --, "cash", "pos"
    (points), then Withdrawal: "withdraw" u64 w, "request";
    AssessmentFromCash: "due" point, "request"; then for ES (full) "aux"
    the points T, E_1..E_S.

The matrix is NOT absorbed element by element: the statement binds the
scenario set by its id, the hash of the operator-signed set that the caller
computes once per cycle.  **The caller must check that the id names this
matrix (and this model)** -- the node and the prover build both from the
same signed set (clearing/protocol/statements.py).  Every derived value is
a deterministic function of bound data (the sources, the model, k, S, I,
the matrix named by the id, the amounts), so the range proofs run on
bound transcripts (zkp.rangeproof.BoundTranscript) and the verifier folds
(zkp.statement_base): per statement O(S*I) field operations and one MSM
over the I + S + O(1) sources, never S commitments of I terms each.

Proof encoding (:class:`MarginProof`)
-------------------------------------
    u32 number of aux points (must equal :meth:`Margin.aux_count`: S + 1
    for ES full, else 0) || the aux points, 32 bytes each (T, then E_1..E_S;
    on the curve, never the identity) || the StatementProof encoding (u16
    number of range proofs == number of chunks, then u32 length + proof
    each).  Decoding is strict: counts, lengths, canonical scalars, points.
    Forms are chunked 64 values per range proof, in the order listed above
    (scan: E_0..E_{S-1}; es: cash', e_1..e_S, x_1..x_S, f).
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import mul
from typing import cast, overload

from .errors import DecodeError
from .field import R
from .group import POINT_BYTES, Point, encode_points
from .pedersen import Opening
from .statement_base import (
    MAX_COEFF,
    MAX_INSTRUMENTS,
    MAX_PUBLIC_AMOUNT,
    MAX_SCENARIOS,
    VALUES_PER_PROOF,
    Context,
    LinearForm,
    Statement,
    StatementError,
    StatementProof,
    _check_int,
    _check_point,
)
from .transcript import Transcript

MODEL_SCAN = "scan"
MODEL_ES = "es"
_HALF_R = R // 2


def signed(v: int) -> int:
    """The integer in (-r/2, r/2] a field element stands for."""
    return v - R if v > _HALF_R else v


@dataclass(frozen=True)
class MarginModel:
    """How scenarios make a requirement: ``kind`` "scan" (k = 0) or "es"
    with 1 <= k <= S tail scenarios (checked against S by the statement)."""

    kind: str = MODEL_SCAN
    k: int = 0

    def __post_init__(self) -> None:
        if self.kind == MODEL_SCAN:
            if self.k != 0:
                raise StatementError("the scan model has no k")
        elif self.kind == MODEL_ES:
            _check_int("ES tail count k", self.k, 1, MAX_SCENARIOS + 1)
        else:
            raise StatementError("margin model kind must be 'scan' or 'es'")

    @classmethod
    def from_dict(cls, d: object) -> MarginModel:
        """Strictly parse the signed set's model: {"kind": "scan"} or
        {"kind": "es", "k": k}."""
        if not isinstance(d, Mapping):
            raise StatementError("margin model must be an object")
        kind = d.get("kind")
        if kind == MODEL_SCAN and set(d) == {"kind"}:
            return cls()
        if kind == MODEL_ES and set(d) == {"kind", "k"}:
            return cls(MODEL_ES, d["k"])
        raise StatementError("margin model must be {'kind': 'scan'} or {'kind': 'es', 'k': k}")

    def to_dict(self) -> dict[str, str | int]:
        return {"kind": MODEL_ES, "k": self.k} if self.kind == MODEL_ES else {"kind": MODEL_SCAN}

    def bind(self, t: Transcript) -> None:
        t.append_message(b"model", self.kind.encode())
        t.append_u64(b"k", self.k)


SCAN = MarginModel()


def _is_int_row(row: Sequence[object]) -> bool:
    return all(type(a) is int for a in row)


class ScenarioMatrix(Sequence[tuple[int, ...]]):
    """A validated per-contract P&L array A[s][i]: 1 <= S <= MAX_SCENARIOS
    rows of 1 <= I <= MAX_INSTRUMENTS ints, |A| < 2^64.  Immutable; the
    column view and the digest are computed once and cached, so build it
    once per scenario set and share it between statements."""

    __slots__ = ("rows", "S", "I", "_cols", "_digest", "_blas")

    def __init__(self, matrix: object) -> None:
        if isinstance(matrix, ScenarioMatrix):
            matrix = matrix.rows
        if not isinstance(matrix, (list, tuple)) or not matrix:
            raise StatementError("scenario matrix must be a non-empty list of rows")
        S = len(matrix)
        if S > MAX_SCENARIOS:
            raise StatementError(f"at most {MAX_SCENARIOS} scenarios")
        I = len(matrix[0]) if isinstance(matrix[0], (list, tuple)) else -1
        if not 1 <= I <= MAX_INSTRUMENTS:
            raise StatementError(f"1..{MAX_INSTRUMENTS} instruments per scenario row")
        rows = []
        for s, row in enumerate(matrix):
            if not isinstance(row, (list, tuple)) or len(row) != I:
                raise StatementError(f"scenario row {s} has the wrong length")
            if not (_is_int_row(row) and -MAX_COEFF < min(row) and max(row) < MAX_COEFF):
                for i, a in enumerate(row):  # name the culprit
                    _check_int(f"A[{s}][{i}]", a, -MAX_COEFF + 1, MAX_COEFF)
            rows.append(tuple(row))
        self.rows: tuple[tuple[int, ...], ...] = tuple(rows)
        self.S = S
        self.I = I
        self._cols: tuple[tuple[int, ...], ...] | None = None
        self._digest: bytes | None = None
        self._blas: object = None

    @classmethod
    def of(cls, matrix: object) -> ScenarioMatrix:
        return matrix if isinstance(matrix, ScenarioMatrix) else cls(matrix)

    @property
    def cols(self) -> tuple[tuple[int, ...], ...]:
        if self._cols is None:
            self._cols = tuple(zip(*self.rows))
        return self._cols

    def digest(self) -> bytes:
        """SHA-256 of b"zkclear.v1/scenario-matrix", u32 S, u32 I and every
        A[s][i] row-major as 9-byte two's complement."""
        if self._digest is None:
            h = hashlib.sha256(b"zkclear.v1/scenario-matrix")
            h.update(self.S.to_bytes(4, "big") + self.I.to_bytes(4, "big"))
            for row in self.rows:
                h.update(b"".join(a.to_bytes(9, "big", signed=True) for a in row))
            self._digest = h.digest()
        return self._digest

    def pnl(self, values: Sequence[int]) -> list[int]:
        """sum_i A[s][i]*values[i] for every s (exact integers)."""
        return [sum(map(mul, row, values)) for row in self.rows]

    def colsum(self, weights: Sequence[int]) -> list[int]:
        """sum_s weights[s]*A[s][i] mod r for every i (any int weights,
        taken mod r first).

        Large matrices go through :func:`_colsum_blas` (exact, see there;
        its limb split needs weights in [0, r)); small ones, or without
        numpy, one Python dot product per column."""
        if self.S * self.I >= _BLAS_MIN and _np is not None:
            return _colsum_blas(self, [w % R for w in weights])
        return [sum(map(mul, weights, col)) % R for col in self.cols]

    def _limbs(self) -> object:
        """S x 2I float64 array [lo | hi]: A = hi*2^32 + lo, 0 <= lo < 2^32,
        |hi| < 2^32 (cached; built once per matrix)."""
        if self._blas is None:
            assert _np is not None
            try:
                a = _np.array(self.rows, dtype=_np.int64)
                lo, hi = a & 0xFFFFFFFF, a >> 32
            except OverflowError:  # some |A| >= 2^63: split in Python
                lo = _np.array([[x & 0xFFFFFFFF for x in row] for row in self.rows], dtype=_np.int64)
                hi = _np.array([[x >> 32 for x in row] for row in self.rows], dtype=_np.int64)
            self._blas = _np.ascontiguousarray(_np.concatenate([lo, hi], axis=1), dtype=_np.float64)
        return self._blas

    def __len__(self) -> int:
        return self.S

    @overload
    def __getitem__(self, i: int) -> tuple[int, ...]: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[tuple[int, ...]]: ...

    def __getitem__(self, i: int | slice) -> tuple[int, ...] | Sequence[tuple[int, ...]]:
        return self.rows[i]

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        return iter(self.rows)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ScenarioMatrix):
            return other is self or other.rows == self.rows
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.S, self.I, self.digest()))

    def __repr__(self) -> str:
        return f"ScenarioMatrix(S={self.S}, I={self.I})"


try:  # numpy comes with galois (a dependency); the pure-Python path stays exact without it
    import numpy as _np
except ImportError:  # pragma: no cover
    _np = None  # type: ignore[assignment]
#: matrices with at least this many entries fold through BLAS (_colsum_blas)
_BLAS_MIN = 1 << 14
_LIMB = 10  # bits per weight limb (see _colsum_blas)


def _colsum_blas(m: ScenarioMatrix, weights: Sequence[int]) -> list[int]:
    """Exact sum_s W_s*A[s][i] mod r with one float64 matrix product.

    W_s < r < 2^260 splits into 26 limbs of 10 bits; A = hi*2^32 + lo with
    0 <= lo < 2^32 and |hi| < 2^32.  Each product limb*A-part is an integer
    below 2^42 in absolute value and each sum over s <= 2^11 scenarios stays
    below 2^53, so every partial sum of the float64 product is an exactly
    represented integer (whatever the summation order or FMA): the result is
    exact.  Recombined per column with Python integers (Horner over limbs)."""
    assert _np is not None
    A = cast("_np.ndarray", m._limbs())
    nl = -(-R.bit_length() // _LIMB)
    mask = (1 << _LIMB) - 1
    W = _np.array([[(w >> (_LIMB * l)) & mask for w in weights] for l in range(nl)], dtype=_np.float64)
    res = _np.rint(W @ A).astype(_np.int64)          # nl x 2I, exact
    I = m.I
    lo = res[:, :I].astype(object)
    hi = res[:, I:].astype(object)
    acc = lo[nl - 1] + hi[nl - 1] * (1 << 32)
    for l in range(nl - 2, -1, -1):
        acc = acc * (1 << _LIMB) + lo[l] + hi[l] * (1 << 32)
    return [int(v) % R for v in acc]


def matrix_digest(matrix: object) -> bytes:
    """The digest of a (validated) matrix, :meth:`ScenarioMatrix.digest`."""
    return ScenarioMatrix.of(matrix).digest()


def check_matrix(matrix: object) -> ScenarioMatrix:
    """Validate a per-contract P&L array A[s][i] (S x I, |A| < 2^64)."""
    return ScenarioMatrix.of(matrix)


@dataclass(frozen=True)
class Margin(Statement):
    """Margin sufficiency with solvency under ``model`` (module docstring).

    ``matrix`` is the operator-signed per-contract P&L array (any list of
    rows, or a shared :class:`ScenarioMatrix`); under the scan model row 0
    must be "no move" (all zeros).  ``scenario_set_id`` names the signed set
    (its hash; the caller checks it names this matrix and model).
    ``solvency_only`` proves cash' >= 0 alone.  ``aux``: for ES (full) the
    prover's T, E_1..E_S -- empty until the proof supplies them
    (:meth:`with_aux`); sources() and forms() need them."""

    KIND = b"margin"
    FOLDED = True
    context: Context
    cash: Point
    positions: tuple[Point, ...]
    matrix: Sequence[Sequence[int]]
    scenario_set_id: bytes = b""
    solvency_only: bool = False
    model: MarginModel = field(default=SCAN, kw_only=True)
    aux: tuple[Point, ...] = field(default=(), kw_only=True)

    def __post_init__(self) -> None:
        _check_point("cash", self.cash)
        object.__setattr__(self, "positions", tuple(self.positions))
        object.__setattr__(self, "matrix", ScenarioMatrix.of(self.matrix))
        object.__setattr__(self, "aux", tuple(self.aux))
        for i, p in enumerate(self.positions):
            _check_point(f"positions[{i}]", p)
        if len(self.positions) != self.mat.I:
            raise StatementError("positions and scenario matrix disagree on the number of instruments")
        if not isinstance(self.model, MarginModel):
            raise StatementError("model must be a MarginModel")
        if self.model.kind == MODEL_SCAN and any(self.mat.rows[0]):
            raise StatementError("scenario 0 must be the no-move scenario (all zeros)")
        if self.model.k > self.mat.S:
            raise StatementError("ES tail count k exceeds the number of scenarios")
        if not isinstance(self.scenario_set_id, (bytes, bytearray)) or len(self.scenario_set_id) > 64:
            raise StatementError("scenario set id must be at most 64 bytes")
        if not isinstance(self.solvency_only, bool):
            raise StatementError("solvency_only must be a bool")
        if self.aux and len(self.aux) != self.aux_count():
            raise StatementError("wrong number of auxiliary commitments for this margin model")
        for i, p in enumerate(self.aux):
            _check_point(f"aux[{i}]", p)

    # -- shape ------------------------------------------------------------------
    @property
    def mat(self) -> ScenarioMatrix:
        return cast(ScenarioMatrix, self.matrix)

    @property
    def rows(self) -> Sequence[tuple[int, ...]]:
        return self.mat.rows[:1] if self.solvency_only else self.mat.rows

    @property
    def es(self) -> bool:
        """ES with its auxiliary commitments (not solvency-only)."""
        return self.model.kind == MODEL_ES and not self.solvency_only

    def aux_count(self) -> int:
        """Auxiliary commitments a proof carries: S + 1 for ES, else 0."""
        return self.mat.S + 1 if self.es else 0

    def with_aux(self, aux: Sequence[Point]) -> Margin:
        """This statement with the proof's auxiliary commitments."""
        return dataclasses.replace(self, aux=tuple(aux))

    def solvency(self) -> Margin:
        """The solvency-only variant (cash' >= 0 alone)."""
        return dataclasses.replace(self, solvency_only=True, aux=())

    def member_sources(self) -> list[Point]:
        """The member's own commitments: cash, positions (and due) -- the
        sources the caller holds openings of (ES adds the aux after them)."""
        return [self.cash, *self.positions, *self._extra_sources()]

    def _require_aux(self) -> None:
        if len(self.aux) != self.aux_count():
            raise StatementError("ES margin statement without its auxiliary commitments")

    def _cash_const(self) -> int:
        return 0

    def _extra_sources(self) -> list[Point]:
        return []

    def _n_base(self) -> int:
        return 1 + self.mat.I + len(self._extra_sources())

    def _cash_terms(self, k: int = 1) -> tuple[tuple[int, int], ...]:
        """cash' = cash (+ const) [- due] as terms, times k."""
        if self._extra_sources():
            return ((0, k), (self.mat.I + 1, -k))
        return ((0, k),)

    # -- Statement interface --------------------------------------------------------
    def sources(self) -> list[Point]:
        self._require_aux()
        return [*self.member_sources(), *self.aux]

    def num_forms(self) -> int:
        if self.solvency_only:
            return 1
        return 2 * self.mat.S + 2 if self.es else self.mat.S

    def forms(self) -> list[LinearForm]:
        """The reference forms (the fast paths below must agree with them)."""
        self._require_aux()
        c0 = self._cash_const()
        cash = self._cash_terms()
        if self.solvency_only:  # cash' alone (an ES set's row 0 need not be the no-move row)
            return [LinearForm(c0, cash)]
        if not self.es:
            return [LinearForm(c0, cash + tuple((i + 1, a) for i, a in enumerate(row) if a)) for row in self.rows]
        S, k, T = self.mat.S, self.model.k, self._n_base()
        E = [T + 1 + s for s in range(S)]
        out = [LinearForm(c0, cash)]
        out += [LinearForm(0, ((E[s], 1),)) for s in range(S)]
        out += [LinearForm(0, ((E[s], 1),) + tuple((i + 1, a) for i, a in enumerate(row) if a) + ((T, 1),))
                for s, row in enumerate(self.mat.rows)]
        out.append(LinearForm(k * c0, self._cash_terms(k) + ((T, -k),) + tuple((e, -1) for e in E)))
        return out

    def range_chunks(self) -> list[list[int]]:
        n = self.num_forms()
        return [list(range(a, min(n, a + VALUES_PER_PROOF))) for a in range(0, n, VALUES_PER_PROOF)]

    def derive_values(self, openings: Sequence[Opening]) -> list[Opening]:
        """The derived openings (same as derive_openings over forms(), fast)."""
        if len(openings) != len(self.sources()):
            raise StatementError("wrong number of openings for this statement")
        I = self.mat.I
        nb = self._n_base()
        cv = signed(openings[0].value) + self._cash_const()
        cb = openings[0].blinding
        if self._extra_sources():
            cv -= signed(openings[I + 1].value)
            cb -= openings[I + 1].blinding
        if self.solvency_only:
            return [Opening(cv, cb)]
        pos = openings[1:I + 1]
        pnl = self.mat.pnl([signed(o.value) for o in pos])
        pnl_b = self.mat.pnl([o.blinding for o in pos])
        if not self.es:
            return [Opening(cv + v, cb + b) for v, b in zip(pnl, pnl_b)]
        k = self.model.k
        t, tb = signed(openings[nb].value), openings[nb].blinding
        ev = [signed(o.value) for o in openings[nb + 1:]]
        eb = [o.blinding for o in openings[nb + 1:]]
        out = [Opening(cv, cb)]
        out += [Opening(v, b) for v, b in zip(ev, eb)]
        out += [Opening(e + p + t, b + pb + tb) for e, p, b, pb in zip(ev, pnl, eb, pnl_b)]
        out.append(Opening(k * cv - k * t - sum(ev), k * cb - k * tb - sum(eb)))
        return out

    def fold(self, weights: Sequence[int]) -> tuple[list[int], int]:
        """(per-source coefficient, G coefficient) of sum_f weights[f]*D_f
        from the matrix columns: O(S*I) multiplications, no group work."""
        if len(weights) != self.num_forms():
            raise StatementError("one weight per form")
        I = self.mat.I
        extra = bool(self._extra_sources())
        c0 = self._cash_const()
        if self.solvency_only or not self.es:
            w_cash = sum(weights)
            pos = [0] * I if self.solvency_only else self.mat.colsum(weights)
            aux: list[int] = []
        else:
            S, k = self.mat.S, self.model.k
            w0, we, wx, wf = weights[0], weights[1:S + 1], weights[S + 1:2 * S + 1], weights[2 * S + 1]
            w_cash = w0 + k * wf
            pos = self.mat.colsum(wx)
            aux = [(sum(wx) - k * wf) % R] + [(a + b - wf) % R for a, b in zip(we, wx)]
        coeff = [w_cash % R, *pos] + ([-w_cash % R] if extra else []) + aux
        return coeff, c0 * w_cash % R

    def _bind(self, t: Transcript) -> None:
        t.append_u64(b"solvency-only", int(self.solvency_only))
        self.model.bind(t)
        t.append_u64(b"S", self.mat.S)
        t.append_u64(b"I", self.mat.I)
        if self.scenario_set_id:
            t.append_message(b"scenario-set", bytes(self.scenario_set_id))
        else:
            t.append_message(b"matrix-digest", self.mat.digest())
        t.append_point(b"cash", self.cash)
        t.append_points(b"pos", self.positions)
        self._bind_extra(t)
        if self.es:
            self._require_aux()
            t.append_points(b"aux", self.aux)

    def _bind_extra(self, t: Transcript) -> None:
        pass

    def decode_proof(self, data: bytes | bytearray | memoryview) -> MarginProof:
        return MarginProof.decode(data, self)


@dataclass(frozen=True)
class Withdrawal(Margin):
    """Margin on cash - w*G: the member stays margin-sufficient after
    withdrawing the public amount w (0 < w < 2^63).  ``request`` is the
    canonical encoding of the member's signed withdrawal request."""

    KIND = b"withdrawal"
    amount: int = 0
    request: bytes = b""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_int("withdrawal amount", self.amount, 1, MAX_PUBLIC_AMOUNT)
        if self.solvency_only:
            raise StatementError("a withdrawal needs the full margin proof")
        if not isinstance(self.request, (bytes, bytearray)) or not self.request:
            raise StatementError("withdrawal request must be non-empty bytes")

    def _cash_const(self) -> int:
        return -self.amount

    def _bind_extra(self, t: Transcript) -> None:
        t.append_u64(b"withdraw", self.amount)
        t.append_message(b"request", bytes(self.request))


@dataclass(frozen=True)
class AssessmentFromCash(Margin):
    """Margin on cash - due: the member settles its committed assessment
    payable from hidden excess cash (DESIGN §6.4) and stays margin-sufficient
    (solvency included) afterwards, then the fold sets cash <- cash - due
    and clears the payable.  Nothing public moves: the node learns only that
    the payable is settled and that the member's excess covered it.  Sources:
    (cash, pos_1..pos_I, due[, T, E_1..E_S]); ``request`` is the canonical
    encoding of the member's signed settlement request.  No wrap: 0 <= due <
    2^64 (it is a pro-rata share or a*df_j, both range-bound), see the module
    docstring."""

    KIND = b"assessment-from-cash"
    due: Point | None = None
    request: bytes = b""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_point("due", self.due)
        if self.solvency_only:
            raise StatementError("settling from cash needs the full margin proof")
        if not isinstance(self.request, (bytes, bytearray)) or not self.request:
            raise StatementError("settlement request must be non-empty bytes")

    def _extra_sources(self) -> list[Point]:
        return [_check_point("due", self.due)]

    def _bind_extra(self, t: Transcript) -> None:
        t.append_point(b"due", _check_point("due", self.due))
        t.append_message(b"request", bytes(self.request))


@dataclass(frozen=True)
class MarginProof(StatementProof):
    """A margin-family proof: the prover's auxiliary commitments (ES: T,
    E_1..E_S; none for scan and solvency-only) and the range proofs
    (encoding in the module docstring)."""

    aux: tuple[Point, ...] = ()

    def to_bytes(self) -> bytes:
        head = len(self.aux).to_bytes(4, "big") + b"".join(encode_points(list(self.aux)))
        return head + StatementProof(self.proofs).to_bytes()

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview, st: Margin) -> MarginProof:
        """Strictly decode for ``st`` (the statement without aux)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DecodeError("margin proof must be bytes")
        data = bytes(data)
        if len(data) < 4:
            raise DecodeError("margin proof truncated")
        count = int.from_bytes(data[:4], "big")
        if count != st.aux_count():
            raise DecodeError("margin proof: wrong number of auxiliary commitments")
        end = 4 + count * POINT_BYTES
        if len(data) < end:
            raise DecodeError("margin proof truncated")
        aux = tuple(Point.decode(data[i:i + POINT_BYTES], allow_identity=False)
                    for i in range(4, end, POINT_BYTES))
        try:
            full = st.with_aux(aux)
        except StatementError as exc:
            raise DecodeError(f"margin proof: {exc}") from None
        body = StatementProof.decode_body(data[end:], full)
        return cls(body.proofs, aux)


__all__ = [
    "MODEL_SCAN", "MODEL_ES", "MarginModel", "SCAN", "ScenarioMatrix", "matrix_digest", "check_matrix",
    "Margin", "Withdrawal", "AssessmentFromCash", "MarginProof", "signed",
]
