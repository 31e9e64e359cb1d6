"""The prover's side of tranche 8, VM gains haircutting (DESIGN §6,
:mod:`zkp.vm_gains`): the answers to the node-driven ``vm-gains`` and
``vm-gains-haircut`` steps, computed on the witness store's openings.

Like every default step this is not an oracle: the witness store answers
only a purpose the ledger's default event is waiting for
(:meth:`prover.custody.witness.WitnessStore.default_shares` checks the
event's ``need`` and records the answer), over the event's full survivor
set, bound to its dm-open.

``vm-gains``          g_j = max(0, vm_j) from the opening of each survivor's
                      VM snapshot (``dm_snapshot["vm:<m>"]``), committed with
                      fresh blindings and proven; G = sum g_j opened over
                      all survivors.
``vm-gains-haircut``  h_j = floor(U*g_j/G) from the openings of the gain
                      commitments the ledger booked (``dm_snapshot["gain:<m>"]``),
                      proven; their total opened.

Each answer is the dict :class:`~clearing.protocol.contracts.ProRataAllocation`
is made from; every new opening is learned (and so sealed at rest) before the
answer leaves.  Nothing here logs a value.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from clearing.protocol import signing
from clearing.protocol.messages import shares_message
from clearing.protocol.vm_gains import (
    GAIN_KEY,
    GAINS,
    VM_KEY,
    gains_context,
    total_statement,
)
from prover.statements import prove_reveals
from prover.vm_gains import prove_vm_gains, vm_gains_haircut
from zkp.field import to_signed
from zkp.generators import generators

if TYPE_CHECKING:
    from prover.custody.witness import WitnessStore


def vm_gains_answer(store: WitnessStore, purpose: str) -> dict:
    """The answer to a pending ``vm-gains`` or ``vm-gains-haircut`` step."""
    s = store.state
    ev = s.dm
    if ev is None:  # checked by default_shares; the event cannot vanish in between
        raise ValueError("no default event in progress")
    gens = generators()
    U = ev["need"][purpose]
    survivors = ev["survivors"]
    ctx = gains_context(s.cycle, ev["open_seq"])
    members = [m.encode() for m in survivors]
    if purpose == GAINS:
        vm_ops = [s.dm_snapshot[VM_KEY + m] for m in survivors]
        vm_cs = [gens.commit(o.value, o.blinding) for o in vm_ops]
        points, ops, gproof = prove_vm_gains(ctx, U, members, vm_cs, vm_ops, gens=gens, rng=store._rng)
        pb = gproof.to_bytes()
    else:
        g_ops = [s.dm_snapshot[GAIN_KEY + m] for m in survivors]
        g_cs = [gens.commit(o.value, o.blinding) for o in g_ops]
        st, proof, ops = vm_gains_haircut(ctx, U, ev["G"], members, g_cs, g_ops, gens=gens, rng=store._rng)
        points = list(st.shares)
        pb = proof.to_bytes()
    total = sum(to_signed(o.value) for o in ops)
    tst = total_statement(s.cycle, ev["open_seq"], purpose, survivors, points, total)
    total_proof = prove_reveals(tst, ops, gens=gens, rng=store._rng).to_bytes()
    shares = [p.encode().hex() for p in points]
    for h, o in zip(shares, ops):
        store._learn(h, o)
    sig = signing.sign(store._sk, *shares_message(s.cycle, ev["index"], purpose, U, shares, total, pb, total_proof))
    store.log.append(("vm-gains", purpose, s.cycle, "proved"))
    return {"cycle": s.cycle, "index": ev["index"], "purpose": purpose, "R": U, "shares": shares,
            "total": total, "proof": pb, "total_proof": total_proof, "sig": sig}


__all__ = ["vm_gains_answer"]
