"""The prover's side of the pre-trade limit at a receipt (issue 14 §1,
:mod:`clearing.protocol.headroom`): the debit proof of both sides, or a
signed refusal naming the short sides.

For a pending trade whose opening (q, rho) the store just checked, with
both sides' headroom openings H_b, H_s, the public debit terms w (the
worst impact w_i; under an intraday basis max(w_i, |u_i|)) and the side's
novation VM vm (clearing.fold.headroom.terms):

    H_b' = H_b + (vm - w)*q,   H_s' = H_s + (-vm - w)*q.

Both >= 0 (as integers; each below 2^64): the :class:`zkp.headroom.HeadroomDebit`
proof, kept with both H (hex) for the receipt event, and the receipt
signature covering it.  Otherwise no proof is attempted (the prover never
proves a false debit): :class:`HeadroomRefused` carries the short sides
(buyer first), both current H and the prover's signature over
:func:`clearing.protocol.headroom.refusal_message` -- the node books it as
a ``pretrade-refusal`` event.  The refusal reveals which side is short (one
bit about its hidden H, docs/leakage.md); nothing else leaves: no value is
logged or put in a message.
"""
from __future__ import annotations

from dataclasses import dataclass

from clearing.fold import headroom as headroom_fold
from clearing.fold.state import State
from clearing.protocol import headroom, signing
from prover.custody.errors import Refused
from prover.headroom import prove_debit
from zkp.errors import ProvingError
from zkp.field import to_signed
from zkp.generators import generators
from zkp.pedersen import Opening
from zkp.statements import StatementError

#: an H' must be below this to be proven (the debit's range)
_BOUND = 1 << 64


class HeadroomRefused(Refused):
    """A side would go below zero: the signed refusal (public: the trade,
    the short sides, both sides' H as points)."""

    def __init__(self, trade_id: str, members: tuple[str, ...], H_buyer: str, H_seller: str, sig: bytes):
        super().__init__(headroom.EXHAUSTED)
        self.trade_id, self.members, self.H_buyer, self.H_seller, self.sig = trade_id, members, H_buyer, H_seller, sig


@dataclass(frozen=True)
class Debit:
    """A receipt's headroom debit: {H_buyer, H_seller, proof} (hex) and the receipt signature."""

    debit: dict
    sig: bytes


def short_sides(state: State, trade: dict, q: int, terms: tuple[int, int] | None = None) -> tuple[str, ...]:
    """The sides whose H' would fall outside [0, 2^64), buyer first
    (``terms``: the trade's (w, vm) when already computed)."""
    w, vm = terms if terms is not None else headroom_fold.terms(state, trade)
    out = []
    for side, v in ((trade["buyer"], vm), (trade["seller"], -vm)):
        h = state.members[side].headroom
        after = None if h is None else to_signed(h.value) + (v - w) * q
        if after is None or not 0 <= after < _BOUND:
            out.append(side)
    return tuple(out)


def receipt(state: State, sk, trade_id: str, trade: dict, op: Opening, rng=None) -> Debit:
    """The debit proof and receipt signature, or :class:`HeadroomRefused`."""
    gens = generators()
    hb, hs = state.members[trade["buyer"]].headroom, state.members[trade["seller"]].headroom
    Pb = None if hb is None else gens.commit(hb.value, hb.blinding)
    Ps = None if hs is None else gens.commit(hs.value, hs.blinding)
    Hb = "" if Pb is None else Pb.encode().hex()
    Hs = "" if Ps is None else Ps.encode().hex()
    w, vm = headroom_fold.terms(state, trade)
    short = short_sides(state, trade, to_signed(op.value), (w, vm))
    if not short:
        assert Pb is not None and Ps is not None  # a side without H is short
        try:
            st = headroom.debit_statement(state.cycle, state.cycle_seq, trade, Pb, Ps, w, vm)
            proof = prove_debit(st, hb, hs, op, rng=rng).to_bytes()
        except (ProvingError, StatementError):  # pragma: no cover - short_sides decided it; kept as a guard
            short = (trade["buyer"], trade["seller"])
    if short:
        sig = signing.sign(sk, *headroom.refusal_message(trade, short, Hb, Hs))
        raise HeadroomRefused(trade_id, short, Hb, Hs, sig)
    debit = {"H_buyer": Hb, "H_seller": Hs, "proof": proof.hex()}
    return Debit(debit, signing.sign(sk, *headroom.receipt_message(trade, proof)))


__all__ = ["HeadroomRefused", "Debit", "short_sides", "receipt"]
