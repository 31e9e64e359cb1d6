"""Flat exceptions of the clearing engine and its event log.

Each class means one thing, so the gRPC layer can map it to one status code
without inspecting messages:

====================  =====================  ==================================
exception             gRPC status            raised when
====================  =====================  ==================================
InvalidArgument       INVALID_ARGUMENT       malformed input, a proof or a
                                             signature that does not verify
FailedPrecondition    FAILED_PRECONDITION    the request is well formed but the
                                             ledger is in the wrong state (wrong
                                             cycle or phase, member called, ...)
AlreadyExists         ALREADY_EXISTS         duplicate trade id or commitment; a
                                             request id reused with different
                                             content
PermissionDenied      PERMISSION_DENIED      the signer may not act for this
                                             member or this step
NotFound              NOT_FOUND              unknown member, trade or cycle
LedgerCorrupted       DATA_LOSS              the stored event log or derived
                                             state fails its integrity checks
====================  =====================  ==================================

Messages name the offending field or state, never a secret (the engine holds
none: it never sees an opening).
"""
from __future__ import annotations

from zkp.errors import ZkclearError


class EngineError(ZkclearError):
    """Base class of every error raised by the clearing engine."""


class InvalidArgument(EngineError, ValueError):
    """Malformed input, or a proof or signature that does not verify."""


class FailedPrecondition(EngineError):
    """The ledger is not in a state where this request is allowed."""


class AlreadyExists(EngineError):
    """A duplicate: trade id, trade commitment, or a reused request id whose
    content differs from the original request."""


class PermissionDenied(EngineError):
    """The signer may not perform this action for this member."""


class NotFound(EngineError, KeyError):
    """An unknown member, trade or cycle."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "not found"


class LedgerCorrupted(EngineError):
    """The event log's hash chain, its replayed state or its stored derived
    state disagree: the database was tampered with or damaged."""


__all__ = [
    "EngineError", "InvalidArgument", "FailedPrecondition", "AlreadyExists",
    "PermissionDenied", "NotFound", "LedgerCorrupted",
]
