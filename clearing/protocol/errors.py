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
none: it never sees an opening).  A value the *client* chose (a member name,
a trade or request id, an instrument) appears in a message only through
:func:`shown`: escaped to ASCII, quoted, and cut to :data:`SHOWN_CHARS`
characters with ``...``.  :func:`capped` is the last line of defence the RPC
layer applies to every status message: control characters escaped, at most
:data:`MAX_MESSAGE_CHARS` characters (a 10 KB member name must not come back
as a 10 KB status; past ~64 KB HTTP/2 peers drop the trailer altogether).
"""
from __future__ import annotations

from zkp.errors import ZkclearError

#: Characters of a client-supplied value echoed in an error message.
SHOWN_CHARS = 64
#: Longest status message sent to a client (characters).
MAX_MESSAGE_CHARS = 1000
_CUT = "..."


def _escaped(ch: str) -> str:
    if ch == "'":
        return "\\'"
    return ascii(ch)[1:-1]


def shown(value, limit: int = SHOWN_CHARS) -> str:
    """``value`` (a client-supplied string) as it may appear in an error
    message: ``repr``-style with every non-ASCII or non-printable character
    escaped, at most ``limit`` characters between the quotes, ``...`` after
    the closing quote when it was cut.  Non-strings are shown by ``ascii()``,
    cut the same way.  ``shown("A") == "'A'"``."""
    if not isinstance(value, str):
        text = ascii(value)
        return text if len(text) <= limit else text[:limit] + _CUT
    out, n = [], 0
    for ch in value[:limit]:
        e = _escaped(ch)
        if n + len(e) > limit:
            break
        out.append(e)
        n += len(e)
    cut = len(out) < len(value)
    return "'" + "".join(out) + "'" + (_CUT if cut else "")


def capped(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A status message fit to send: non-printable characters (newlines,
    NULs, bidi controls, ...) escaped, at most ``limit`` characters, ending
    in ``...`` when cut."""
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in str(message)[:limit + 1])
    if len(text) > limit:
        text = text[:limit - len(_CUT)] + _CUT
    return text


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
    "SHOWN_CHARS", "MAX_MESSAGE_CHARS", "shown", "capped", "EngineError", "InvalidArgument", "FailedPrecondition",
    "AlreadyExists", "PermissionDenied", "NotFound", "LedgerCorrupted",
]
