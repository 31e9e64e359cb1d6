"""Verifying the VM-gains statements of :mod:`zkp.vm_gains` (no witness
code): every chunk's aggregated range proof (g_j and g_j - vm_j in
[0, 2^64), the derived commitments computed here from C_vm and C_g) and
every survivor's OR-proof (C_g - C_vm or C_g commits to zero), each on the
transcript fork the module docstring names.  The haircut shares are a
:class:`~zkp.vm_gains.VmGainsShares` range statement, verified by
:func:`verifier.statements.verify`.  Every failure is the same
:class:`~zkp.errors.VerificationError`.
"""
from __future__ import annotations

from collections.abc import Sequence

from zkp.errors import VerificationError
from zkp.generators import GeneratorSet, generators
from zkp.vm_gains import VmGains, VmGainsProof

from .sigma_or import verify_or_zero
from .statements import verify


def verify_vm_gains(statements: Sequence[VmGains], proof: VmGainsProof, *,
                    gens: GeneratorSet | None = None) -> None:
    """Check a :class:`VmGainsProof` against the chunk statements
    (:func:`zkp.vm_gains.vm_gains_statements`); raise VerificationError."""
    gens = gens or generators()
    if not isinstance(proof, VmGainsProof) or len(proof.ranges) != len(statements) \
            or len(proof.ors) != sum(len(st.gains) for st in statements):
        raise VerificationError()
    k = 0
    for st, rp in zip(statements, proof.ranges):
        verify(st, rp, gens=gens)
        base = st.transcript(gens)
        for j in range(len(st.gains)):
            C0, C1 = st.or_statement(j)
            verify_or_zero(st.or_transcript(j, base), C0, C1, proof.ors[k], gens=gens)
            k += 1


__all__ = ["verify_vm_gains"]
