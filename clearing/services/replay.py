"""A retried request replays its recorded result, whatever happened since.

The engine replays a request whose id *and content* it has recorded, and
answers ALREADY_EXISTS for an id reused with other content.  A client's
retry, though, may carry other content for the very same request:

* a fresh proof -- proofs are randomised, and a retry after a lost reply
  (or a new ``zkclear`` process) proves again;
* a trade commitment T under a fresh blinding, with its proof and sealed
  openings;
* a cycle or epoch the client derived from the ledger's status, which has
  moved on since the first attempt (the first ``admin close`` advanced the
  cycle; a deposit retried after the cycle closed).

So the clearing node looks the request id up *first* (:func:`recorded`):
when the actor's id is recorded and the recorded event is the same request
-- the same kind and the same *key*, the fields the client chose and that a
retry cannot vary (:data:`KEYS`) -- the recorded result is the answer, and
nothing else of the request is checked (a retry that could not obtain a
fresh proof, e.g. because the prover now refuses what the first attempt
already did, may send an empty one).  An id recorded for another request is
ALREADY_EXISTS, as before; an unrecorded id goes to the engine, which
checks everything.  A request id therefore names one request for good: the
same id with a different amount is refused, the same id in a later cycle
replays the first.

Node-driven prover steps (margin, cure, epoch, default) already work this
way (:meth:`clearing.services.clearing_service.ClearingNode.prove_once`).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable

from clearing.node.engine import Engine
from clearing.protocol.errors import AlreadyExists, shown
from clearing.protocol.messages import CCP_PARAMETERS

_TRADE_KEY = ("trade_id", "buyer", "seller", "instrument", "side", "price")

#: Event kind -> the key of a request of that kind, from its recorded event body.
KEYS: dict[str, Callable[[dict], tuple]] = {
    "deposit": lambda b: (b["member"], b["amount"]),
    "withdraw": lambda b: (b["member"], b["amount"]),
    "df-fund": lambda b: (b["member"], b["df"]),
    "assessment-pay": lambda b: (b["member"], b["index"], b["amount"]),
    "assessment-settle": lambda b: (b["member"], b["index"]),
    "trade": lambda b: tuple(b["trade"][k] for k in _TRADE_KEY),
    "affirm": lambda b: (b["trade_id"], b["member"]),
    "settle": lambda b: (list(b["prices"]), b["scenario_set"]),
    "default": lambda b: (b["member"],),
    "default-insolvency": lambda b: (b["member"], b["reason"]),
    "liquidate": lambda b: (b["member"],),
    "df-size": lambda b: (b["member"], b["epoch"]),
    "ccp-params": lambda b: tuple(b[k] for k in CCP_PARAMETERS),
    "dm-closeout": lambda b: (b["index"], list(b["prices"])),
    "close": lambda b: (),
}


def trade_key(trade: dict) -> tuple:
    """The key of a trade submission (its terms but T, the cycle, the proof)."""
    return tuple(trade[k] for k in _TRADE_KEY)


def recorded(e: Engine, actor: str, request_id: str, kind: str, key: tuple) -> dict | None:
    """The recorded result of ``actor``'s request ``request_id`` when the
    ledger holds it for the same request (``kind`` and ``key``); None when
    the id is not recorded; AlreadyExists when it names another request."""
    found = e.ledger.lookup_request(actor, request_id) if isinstance(request_id, str) else None
    if found is None:
        return None
    _, seq, result = found
    events = e.events_with_hashes(seq - 1, 1)
    body = events[0][1] if events else {}
    same = body.get("kind") == kind and KEYS[kind](body) == tuple(key)
    if not same:
        raise AlreadyExists(f"request id {shown(request_id)} was used for a different request")
    return result


__all__ = ["KEYS", "recorded", "trade_key"]


def derived_id(kind: str, *parts: str) -> str:
    """A node-side request id derived from a client's (fits the 64-char id)."""
    h = hashlib.sha256("\x00".join((kind,) + parts).encode()).hexdigest()[:40]
    return f"{kind}.{h}"
