"""The VM-gains statements (tranche 8, :mod:`zkp.vm_gains`) as the node and
the prover build them identically from ledger state: bound to
Context(cycle, seq of the default event's ``dm-open``, b"ccp"), over the
event's survivors in order.

Both steps travel as a ``dm-shares`` event (the same RPC, contract and
signed message as the pro-rata tranches) distinguished by ``purpose``:

``vm-gains``          R = U (the loss left after the assessments), shares =
                      the gain commitments C_g[j], total = G (opened),
                      proof = :class:`~zkp.vm_gains.VmGainsProof`,
                      total_proof = the aggregate opening of sum_j C_g[j]
``vm-gains-haircut``  (only when U < G) R = U, shares = C_h[j] with
                      h_j = floor(U*g_j/G), total = sum_j h_j (opened),
                      proof = the :class:`~zkp.vm_gains.VmGainsShares` range
                      proof, total_proof = the aggregate opening
"""
from __future__ import annotations

from collections.abc import Sequence

from clearing.protocol.statements import CCP_CONTEXT
from zkp.group import Point
from zkp.statements import AggregateOpening, Context
from zkp.vm_gains import PURPOSE_GAINS, PURPOSE_HAIRCUT, VmGains, VmGainsShares, vm_gains_statements

#: the two ``dm-shares`` purposes of tranche 8
GAINS = PURPOSE_GAINS.decode()
HAIRCUT = PURPOSE_HAIRCUT.decode()
VM_PURPOSES = (GAINS, HAIRCUT)
#: the dm-open snapshot keys of a survivor's VM and gain commitments (":"
#: is not allowed in a member id, so they never collide with a survivor)
VM_KEY = "vm:"
GAIN_KEY = "gain:"


def gains_context(cycle: int, open_seq: int) -> Context:
    return Context(cycle, open_seq, CCP_CONTEXT)


def gains_statements(cycle: int, open_seq: int, U: int, survivors: Sequence[str], vms: Sequence[Point],
                     gains: Sequence[Point]) -> list[VmGains]:
    return vm_gains_statements(gains_context(cycle, open_seq), U, [m.encode() for m in survivors], vms, gains)


def haircut_statement(cycle: int, open_seq: int, U: int, G: int, survivors: Sequence[str], gains: Sequence[Point],
                      shares: Sequence[Point]) -> VmGainsShares:
    return VmGainsShares(gains_context(cycle, open_seq), PURPOSE_HAIRCUT, U, G,
                         tuple(m.encode() for m in survivors), tuple(gains), tuple(shares))


def total_statement(cycle: int, open_seq: int, purpose: str, survivors: Sequence[str], commitments: Sequence[Point],
                    total: int) -> AggregateOpening:
    """sum_j C_j = total over the full survivor set (G, or the haircut total)."""
    ms = tuple(m.encode() for m in survivors)
    return AggregateOpening(gains_context(cycle, open_seq), purpose.encode() + b"-total", ms, tuple(commitments),
                            total, ms)


__all__ = ["GAINS", "HAIRCUT", "VM_PURPOSES", "VM_KEY", "GAIN_KEY", "gains_context", "gains_statements",
           "haircut_statement", "total_statement"]
