"""Thin members and the scripting entry point of the Python client API.

:class:`ThinParticipant` is a :class:`~clearing.clients.participant.Participant`
that does no curve arithmetic for its trades (issue 15); everything else --
deposits, funding, withdrawals, status, retries -- is the participant's:

* **trade** (as initiator): asks the prover service (PrepareTrade, over
  mutual TLS as itself) for T, the TradeValidity proof and the opening
  sealed to the counterparty and to the prover; checks that the returned
  trade row carries exactly the terms it asked for and that the returned
  tuple bytes are the canonical encoding of that row
  (:func:`clearing.protocol.messages.trade_tuple`); signs them with its
  Ed25519 key and submits to the clearing node.  The same request id on a
  retry gets the same T (the prover records one commitment per trade id).
* **affirm / pending** (as counterparty): asks the prover (CheckAffirmation)
  for the quantity the pending trade's T opens to, checks that the row the
  prover checked is the row the node offers, compares the terms with the
  agreed ones and signs the affirmation -- the participant's own
  :meth:`~clearing.clients.participant.Participant.affirm`, with the check
  of the relayed opening (:meth:`ThinParticipant._check`) done by the prover.

Trust change (docs/leakage.md, "Thin members"): a thin member trusts the
prover for the freshness of its blindings and for the quantity it reports at
affirmation; it never decrypts the opening sealed to it, and delegates no
key.  The prover learns nothing it would not learn when the trade is booked,
except the quantity of a trade prepared and never submitted.

:func:`connect` opens a member's client from a ``zkclear init`` directory
(identity, roster and the services' endpoints): thick by default,
``thin=True`` for a :class:`ThinParticipant`.
"""
from __future__ import annotations

import grpc

from clearing.api import clearing_pb2, common_pb2, convert, prover_pb2
from clearing.clients.participant import CheckedTrade, Participant, TradeRejected, new_request_id
from clearing.protocol import signing
from clearing.protocol.messages import affirmation_message, trade_message, trade_tuple
from clearing.services import config as services_config
from clearing.services.pki import load_config, load_identity

_SIDE_ENUM = {"buy": common_pb2.SIDE_BUY, "sell": common_pb2.SIDE_SELL}


class ThinParticipant(Participant):
    """A member whose trade commitments, proofs and opening checks are the
    prover service's (module docstring).  Needs ``prover_target``."""

    def __init__(self, identity, roster, clearing_target: str, prover_target: str, **kw):
        if prover_target is None:
            raise ValueError("a thin participant needs the prover service's endpoint")
        super().__init__(identity, roster, clearing_target, prover_target, **kw)

    def __repr__(self) -> str:
        return f"ThinParticipant({self.name!r})"

    def make_trade(self, trade_id: str, counterparty: str, instrument: str, side: str, quantity: int,
                   price: int, *, rng=None, request_id: str | None = None,
                   status: clearing_pb2.LedgerStatus | None = None
                   ) -> tuple[clearing_pb2.SubmitTradeRequest, dict]:
        """Build (but do not send) the trade submission from the prover's
        PrepareTrade answer, signed by this member, for the cycle of
        ``status`` (default: the ledger's now).  ``rng`` is ignored (the
        prover picks the blinding)."""
        if side not in _SIDE_ENUM:
            raise ValueError("side must be 'buy' or 'sell'")
        rid = request_id or new_request_id("trade")
        cycle = (self.ledger_status() if status is None else status).cycle
        got = self._prover().PrepareTrade(prover_pb2.PrepareTradeRequest(
            request_id=rid, member=self.name, trade_id=trade_id, cycle=cycle, counterparty=counterparty,
            instrument=instrument, side=_SIDE_ENUM[side], price=price, quantity=quantity))
        trade = convert.trade(got.trade)
        buyer, seller = (self.name, counterparty) if side == "buy" else (counterparty, self.name)
        asked = {"trade_id": trade_id, "cycle": cycle, "buyer": buyer, "seller": seller, "instrument": instrument,
                 "side": side, "price": price}
        if any(trade[k] != v for k, v in asked.items()):
            raise TradeRejected(f"trade {trade_id!r}: the prover's trade row differs from the terms asked for")
        if trade_tuple(trade) != got.trade_tuple:
            raise TradeRejected(f"trade {trade_id!r}: the prover's tuple is not the trade row's encoding")
        sig = signing.sign(self.identity.ed25519_private, *trade_message(trade))
        req = clearing_pb2.SubmitTradeRequest(request_id=rid, trade=got.trade, proof=got.proof, signature=sig,
                                              sealed_counterparty=got.sealed_counterparty,
                                              sealed_prover=got.sealed_prover)
        return req, trade

    def _check(self, p: clearing_pb2.PendingTrade) -> CheckedTrade:
        """The pending trade ``p`` checked by the prover (CheckAffirmation):
        the prover's row must be the one the node offers.  FAILED_PRECONDITION
        (no longer pending), NOT_FOUND and a mismatch are
        :class:`TradeRejected`; UNAVAILABLE (the prover does not hold the
        opening yet: the node's push is on its way) is retried with backoff
        by the client's stub, then raised."""
        offered = convert.trade(p.trade)
        try:
            got = self._prover().CheckAffirmation(prover_pb2.CheckAffirmationRequest(
                member=self.name, trade_id=offered["trade_id"]))
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND):
                raise TradeRejected(f"trade {offered['trade_id']!r}: the prover has not checked it "
                                    f"({exc.code().name})") from None
            raise
        if convert.trade(got.trade) != offered:
            raise TradeRejected(f"trade {offered['trade_id']!r}: the prover checked another trade row")
        if signing.encode_tuple(*affirmation_message(offered, self.name)) != got.affirmation_tuple:
            raise TradeRejected(f"trade {offered['trade_id']!r}: the prover's affirmation tuple is not ours")
        # the prover refused reused blindings before signing the receipt; the
        # member's own seen set keys on T (it never sees the blinding)
        return CheckedTrade(offered, got.quantity, "thin:" + offered["T"])


def connect(config_dir, name: str, *, thin: bool = False, **kw) -> Participant:
    """Member ``name``'s client from a ``zkclear init`` directory: its
    identity and the roster (CA-checked), the clearing node's and the prover
    service's endpoints from services.json, and its seen-commitments file
    in its data directory.  ``thin=True`` returns a :class:`ThinParticipant`.
    Keyword arguments go to the client (``timeout``, ``prove_timeout``)."""
    identity = load_identity(config_dir, name)
    roster = load_config(config_dir)
    kw.setdefault("seen_path", services_config.party_data_dir(config_dir, name) / "seen.json")
    cls = ThinParticipant if thin else Participant
    return cls(identity, roster, services_config.endpoint(config_dir, "clearing"),
               services_config.endpoint(config_dir, "prover"), **kw)


__all__ = ["ThinParticipant", "connect"]
