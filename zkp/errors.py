"""Small, flat exception types (pyca/cryptography style).

Verification failures are deliberately uninformative: every way a proof can
fail raises the same :class:`VerificationError` with the same message, so a
verifier's answer reveals nothing beyond "rejected".  Malformed encodings are
a separate, *precise* error (:class:`DecodeError`) because they are about the
bytes, not about any secret.
"""


class ZkclearError(Exception):
    """Base class of every error raised by zkclear's cryptographic core."""


class DecodeError(ZkclearError, ValueError):
    """Bytes that are not a canonical encoding (wrong length, off-curve point,
    scalar >= r, identity where a non-identity is required, ...)."""


class VerificationError(ZkclearError):
    """A proof did not verify.  The message never says why."""

    def __init__(self, message: str = "proof verification failed"):
        super().__init__(message)


class ProvingError(ZkclearError, ValueError):
    """The prover refuses: the witness does not satisfy the relation, or the
    statement is out of the bounds the protocol supports."""


class TranscriptError(ZkclearError):
    """A Fiat-Shamir challenge was zero (probability ~2^-254) or the
    transcript was misused."""


class BackendError(ZkclearError):
    """A group backend is unknown or unavailable."""
