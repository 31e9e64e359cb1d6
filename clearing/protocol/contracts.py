"""Typed contracts between the prover service and the clearing node.

The prover's witness store (``prover.custody.witness``) answers the
node-driven steps with these records; the gRPC layer carries them
(``clearing.api.convert``: record <-> protobuf message) and the node's engine
(``clearing.node.engine``) takes them as they are -- no dictionaries of
keyword arguments, so a missing or misspelt field fails where it is made,
not at run time in another process.

=====================  =====================================================
record                 what the prover answers (and the engine books)
=====================  =====================================================
:class:`CureProof`     a called member's re-proof after its cure deposit
                       (``margin-cure``)
:class:`WindowTotal`   the funding window's total D over every member not
                       in default (``df-epoch``)
:class:`DefaultOpening`  every declared defaulter disclosed, and the
                       survivors' snapshot total D0 (``dm-open``)
:class:`ProRataAllocation`  a tranche's pro-rata shares and their opened
                       total (``dm-shares``)
=====================  =====================================================

Every record is frozen; its sequences are tuples.  ``proof``/``sig`` fields
are raw bytes; commitments (``shares``) are lower-case hex, as in the ledger.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


def _tuple(v: Sequence) -> tuple:
    return tuple(v)


@dataclass(frozen=True)
class CureProof:
    cycle: int
    member: str
    solvency_only: bool
    ctx_seq: int
    proof: bytes
    sig: bytes


@dataclass(frozen=True)
class WindowTotal:
    cycle: int
    epoch: int
    members: tuple[str, ...]
    D: int
    proof: bytes
    sig: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", _tuple(self.members))


@dataclass(frozen=True)
class Disclosed:
    """One defaulter's disclosed values (in ``disclosure_labels`` order) and
    their reveal proofs."""

    values: tuple[int, ...]
    proof: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _tuple(self.values))


@dataclass(frozen=True)
class DefaultOpening:
    cycle: int
    defaulters: tuple[str, ...]
    survivors: tuple[str, ...]
    D0: int
    D0_proof: bytes
    disclosures: Mapping[str, Disclosed] = field(default_factory=dict)
    sig: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "defaulters", _tuple(self.defaulters))
        object.__setattr__(self, "survivors", _tuple(self.survivors))
        object.__setattr__(self, "disclosures", dict(self.disclosures))


@dataclass(frozen=True)
class ProRataAllocation:
    cycle: int
    index: int
    purpose: str
    R: int
    shares: tuple[str, ...]
    total: int
    proof: bytes
    total_proof: bytes
    sig: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "shares", _tuple(self.shares))


__all__ = ["CureProof", "WindowTotal", "Disclosed", "DefaultOpening", "ProRataAllocation"]
