"""Proving the VM-gains statements of :mod:`zkp.vm_gains` (tranche 8).

:func:`prove_vm_gains` commits g_j = max(0, vm_j) for every survivor from
the openings of its VM commitment, with a fresh blinding, and proves the
chunks' range statements (g_j and g_j - vm_j in [0, 2^64)) and one
OR-proof per survivor (g_j = vm_j or g_j = 0).  It refuses (ProvingError)
when an opening does not match its commitment or a gain is 2^64 or more.

:func:`vm_gains_haircut` computes h_j = floor(U*g_j / G), commits it and
proves the pro-rata relation (:class:`~zkp.vm_gains.VmGainsShares`).
"""
from __future__ import annotations

from collections.abc import Sequence

from zkp.errors import ProvingError
from zkp.field import Rng, random_scalar, to_signed
from zkp.generators import GeneratorSet, generators
from zkp.group import Point
from zkp.pedersen import Opening
from zkp.statements import Context, StatementProof
from zkp.vm_gains import PURPOSE_HAIRCUT, VmGainsProof, VmGainsShares, vm_gains_statements

from .sigma_or import prove_or_zero
from .statements import prove


def prove_vm_gains(context: Context, U: int, members: Sequence[bytes], vm_commitments: Sequence[Point],
                   vm_openings: Sequence[Opening], *, gens: GeneratorSet | None = None,
                   rng: Rng | None = None) -> tuple[list[Point], list[Opening], VmGainsProof]:
    """(gain commitments, gain openings, proof) for the survivors ``members``."""
    gens = gens or generators()
    if len(vm_openings) != len(vm_commitments):
        raise ProvingError("one VM opening per survivor")
    gain_ops: list[Opening] = []
    for C, op in zip(vm_commitments, vm_openings):
        if gens.commit(op.value, op.blinding) != C:
            raise ProvingError("a VM opening does not match its commitment")
        g = max(0, to_signed(op.value))
        if g >= 1 << 64:
            raise ProvingError("a VM gain is outside [0, 2^64)")
        gain_ops.append(Opening(g, random_scalar(rng)))
    gains = [gens.commit(o.value, o.blinding) for o in gain_ops]
    statements = vm_gains_statements(context, U, members, vm_commitments, gains)
    ranges: list[StatementProof] = []
    ors = []
    for st in statements:
        a, n = st.first, len(st.gains)
        vops, gops = list(vm_openings[a:a + n]), gain_ops[a:a + n]
        ranges.append(prove(st, vops + gops, gens=gens, rng=rng))
        base = st.transcript(gens)
        for j in range(n):
            C0, C1 = st.or_statement(j)
            if gops[j].value == vops[j].value:
                branch, blinding = 0, gops[j].blinding - vops[j].blinding
            else:
                branch, blinding = 1, gops[j].blinding
            ors.append(prove_or_zero(st.or_transcript(j, base), C0, C1, branch, blinding, gens=gens, rng=rng))
    return gains, gain_ops, VmGainsProof(tuple(ranges), tuple(ors))


def vm_gains_haircut(context: Context, U: int, G: int, members: Sequence[bytes], gain_commitments: Sequence[Point],
                     gain_openings: Sequence[Opening], *, gens: GeneratorSet | None = None,
                     rng: Rng | None = None) -> tuple[VmGainsShares, StatementProof, list[Opening]]:
    """h_j = floor(U*g_j / G) committed and proven (1 <= U < G)."""
    gens = gens or generators()
    share_ops = [Opening(U * to_signed(o.value) // G, random_scalar(rng)) for o in gain_openings]
    shares = tuple(gens.commit(o.value, o.blinding) for o in share_ops)
    st = VmGainsShares(context, PURPOSE_HAIRCUT, U, G, tuple(members), tuple(gain_commitments), shares)
    return st, prove(st, list(gain_openings) + share_ops, gens=gens, rng=rng), share_ops


__all__ = ["prove_vm_gains", "vm_gains_haircut"]
