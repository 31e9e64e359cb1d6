"""The clients of the services: members (:class:`Participant`, thick: it
commits and proves its own trades; :class:`ThinParticipant`, thin: the
prover service does that for it), the operator (:class:`Operator`), and
:func:`connect`, a member's client from a ``zkclear init`` directory.

    from clearing.clients import connect
    with connect("cfg", "A") as a:
        a.deposit(1_000_000)

See README.md, "Scripting a member in Python"."""
from clearing.clients.operator import Operator
from clearing.clients.participant import CheckedTrade, Participant, TradeRejected, new_request_id
from clearing.clients.thin import ThinParticipant, connect

__all__ = ["Participant", "ThinParticipant", "Operator", "CheckedTrade", "TradeRejected", "connect",
           "new_request_id"]
