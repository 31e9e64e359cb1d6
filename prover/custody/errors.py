"""The witness store's refusals, shared by its modules."""
from __future__ import annotations

from zkp.errors import ProvingError


class Refused(ProvingError):
    """The request is not something the signed ledger requires."""


__all__ = ["Refused"]
