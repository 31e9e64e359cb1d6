"""Proving the maintenance tier of a margin run (issue 14 §2, :mod:`zkp.maintenance`).

With a maintenance ratio mu = num/den in the cycle's signed scenario set,
a member's margin job yields one of

* the full IM proof (``Margin``)                      -> pass;
* the maintenance proof (``Maintenance``, den*cash +
  num*P&L_s >= 0 for every s; its ``solvency_only``
  is True: it takes the solvency-only tier's place)   -> IM call, cure window;
* nothing                                             -> liquidation.

A solvency-only proof is never made under mu: solvency without maintenance
leads to liquidation just as insolvency does (the liquidation's close-out
then says whether the member keeps a remainder or leaves bad debt).  Without
mu the tiers are today's: full, solvency-only, nothing.

The batch path (:func:`maintenance_tier`) leaves the pool's jobs untouched
(plain margin statements, full else solvency-only) and re-proves, in process,
only the members that did not pass IM -- a few per cycle.
"""
from __future__ import annotations

from collections.abc import Sequence

from zkp.errors import ProvingError
from zkp.field import Rng
from zkp.maintenance import Maintenance, maintenance_of
from zkp.margin import Margin, MarginProof
from zkp.pedersen import Opening

from .statements import ChunkMapper, prove_margin, prove_margin_or_solvency

Ratio = tuple[int, int]


def prove_maintenance(st: Margin, openings: Sequence[Opening], ratio: Ratio, *,
                      rng: Rng | None = None) -> tuple[Maintenance, MarginProof]:
    """The maintenance proof over ``st``'s commitments; ProvingError (naming
    no secret) when the member fails maintenance (or a value is out of range)."""
    mst = maintenance_of(st, *ratio)
    proved, proof = prove_margin(mst, openings, rng=rng)
    assert isinstance(proved, Maintenance)
    return proved, proof


def prove_tiered(st: Margin, openings: Sequence[Opening], ratio: Ratio | None, *, rng: Rng | None = None,
                 map_chunks: ChunkMapper | None = None) -> tuple[Margin, MarginProof]:
    """Full IM proof, else (with ``ratio``) the maintenance proof, else
    (without) the solvency-only proof; ProvingError when none holds."""
    if ratio is None:
        return prove_margin_or_solvency(st, openings, rng=rng, map_chunks=map_chunks)
    try:
        return prove_margin(st, openings, rng=rng, map_chunks=map_chunks)
    except ProvingError:
        pass
    return prove_maintenance(st, openings, ratio, rng=rng)


def maintenance_tier(jobs: Sequence[tuple[Margin, Sequence[Opening]]],
                     results: Sequence[tuple[Margin, bytes] | None], ratio: Ratio | None, *,
                     rng: Rng | None = None) -> list[tuple[Margin, bytes] | None]:
    """A margin batch's results (job order: (statement proved, proof bytes)
    or None) with, under ``ratio``, every result below IM replaced by the
    member's maintenance proof, or by None when maintenance fails too."""
    out = list(results)
    if ratio is None:
        return out
    for k, ((st, ops), res) in enumerate(zip(jobs, results)):
        if res is not None and not res[0].solvency_only:
            continue  # passed IM
        try:
            proved, proof = prove_maintenance(st, ops, ratio, rng=rng)
        except ProvingError:
            out[k] = None
            continue
        out[k] = (proved, proof.to_bytes())
    return out


__all__ = ["prove_maintenance", "prove_tiered", "maintenance_tier", "Ratio"]
