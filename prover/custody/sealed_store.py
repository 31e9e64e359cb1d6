"""The prover service's witness store at rest: SQLite, every opening sealed.

What is secret.  The prover's whole state is a deterministic replay of the
clearing node's public ledger over a set of *openings*; the only secrets are
those openings, each named by its commitment (a trade's T, a default-fund
contribution prepared for a member, a pro-rata share).  So this store keeps
exactly that set -- ``commitment -> (value, blinding)`` -- and a restarted
prover reloads it and replays the ledger from the node.

Sealing.  Each opening is encrypted with AES-256-GCM under a 32-byte key
read from a key file (created 0600 on first use; refused if group/others may
read or write it).  The key file lives outside the store's data directory
(:func:`check_key_file`, enforced by ``clearing.services.prover_service.create_server``), so a
copy of the data carries no key.  Nonce = 12 random bytes, plaintext = value || blinding (two
32-byte big-endian scalars), associated data = a domain tag plus the
commitment, so a sealed row moved to another commitment does not decrypt.
On load every opening is re-committed and compared with its commitment.
Rows are written in one transaction, in WAL mode with ``synchronous=FULL``,
*before* the service answers the request that created them, so an answer
the node acted upon is never lost to a crash.  ``secure_delete`` is on: a
deleted or overwritten row's bytes are zeroed in the file, not left in free
pages (whatever the SQLite build's default).

Besides openings the store keeps the recorded answers to the node-driven
aggregate steps (window totals, default openings, pro-rata shares; sealed
like openings, since an answer is not public until the node books it), so
a restarted prover repeats an answer instead of producing another; and small
non-secret rows: prepared funding commitments per (member, request id) -- so
a retried PrepareFunding returns the same commitment -- the watermark (the
highest ledger seq and chain head it followed: a node whose ledger is later
shorter or different raises the alarm), and the alarm (a divergence from the
node survives a restart until an operator clears the database).

Nothing here logs or reprs a value, a blinding or the key.
"""
from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from clearing.protocol import signing
from zkp.errors import ZkclearError
from zkp.field import R, decode_scalar, encode_scalar
from zkp.generators import generators
from zkp.pedersen import Opening

KEY_BYTES = 32
NONCE_BYTES = 12
_AAD = b"zkclear.v1/prover-store/opening\x00"
_AAD_ANSWER = b"zkclear.v1/prover-store/answer\x00"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS openings (
    commitment TEXT PRIMARY KEY,
    nonce      BLOB NOT NULL,
    sealed     BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS prepared (
    member     TEXT NOT NULL,
    request_id TEXT NOT NULL,
    commitment TEXT NOT NULL,
    PRIMARY KEY (member, request_id)
);
CREATE TABLE IF NOT EXISTS answers (
    step   TEXT PRIMARY KEY,
    nonce  BLOB NOT NULL,
    sealed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class StoreError(ZkclearError):
    """The sealed store or its key file is unusable or was tampered with."""


def load_or_create_key(path: str | os.PathLike) -> bytes:
    """The AES-256 key in ``path``; created (0600) when missing."""
    path = Path(path)
    if not path.exists():
        signing.write_secret_file(path, AESGCM.generate_key(bit_length=256))
    try:
        key = signing.read_secret_file(path)
    except signing.KeyFormatError as exc:
        raise StoreError(str(exc)) from None
    if len(key) != KEY_BYTES:
        raise StoreError(f"{path} does not hold a {KEY_BYTES}-byte key")
    return key


def check_key_file(key_path: str | os.PathLike, data_dirs, *, store_exists: bool = False) -> None:
    """Refuse (:class:`StoreError`, one line naming the file, never the key)
    a key file that sits inside any of ``data_dirs`` (at any depth, after
    resolving symlinks), that group or others may read or write
    (``mode & 0o077``), or that is not a regular file.  A missing key file
    is fine for a new store (it is created 0600 on first use) but refused
    when ``store_exists`` (a new key could not open the old store)."""
    path = Path(key_path)
    resolved = path.resolve()
    for data_dir in data_dirs:
        d = Path(data_dir).resolve()
        if d == resolved or d in resolved.parents:
            raise StoreError(f"prover key file {path} is inside the data directory {data_dir}; "
                             f"move it out (a copy of the data must not carry its key)")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if store_exists:
            raise StoreError(f"prover key file {path} does not exist but the sealed store does") from None
        return
    if not stat.S_ISREG(st.st_mode):
        raise StoreError(f"prover key file {path} is not a regular file")
    if st.st_mode & 0o077:
        raise StoreError(f"prover key file {path} is readable or writable by group/others "
                         f"(mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 it")


class SealedStore:
    """Openings sealed by AES-GCM in SQLite.  Thread-safe (one lock)."""

    def __init__(self, db_path: str | os.PathLike, key_path: str | os.PathLike):
        self._aead = AESGCM(load_or_create_key(key_path))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(db_path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA secure_delete=ON")
        if self._db.execute("PRAGMA secure_delete").fetchone() != (1,):
            raise StoreError("this SQLite build cannot enable secure_delete")
        self._db.executescript(_SCHEMA)
        self.path = str(db_path)

    def __repr__(self) -> str:
        return f"SealedStore(path={self.path!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- openings ----------------------------------------------------------------
    def _seal(self, commitment: str, op: Opening) -> tuple[bytes, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        plain = encode_scalar(op.value % R) + encode_scalar(op.blinding % R)
        return nonce, self._aead.encrypt(nonce, plain, _AAD + commitment.encode("ascii"))

    def put_many(self, items: dict[str, Opening]) -> None:
        """Seal and store openings (commitment hex -> opening) in one transaction."""
        rows = [(c, *self._seal(c, op)) for c, op in items.items()]
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR IGNORE INTO openings (commitment, nonce, sealed) VALUES (?, ?, ?)",
                                     rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def commitments(self) -> set[str]:
        with self._lock:
            return {c for (c,) in self._db.execute("SELECT commitment FROM openings")}

    def load_all(self) -> dict[str, Opening]:
        """Every opening, decrypted and checked against its commitment."""
        with self._lock:
            rows = self._db.execute("SELECT commitment, nonce, sealed FROM openings").fetchall()
        gens = generators()
        out = {}
        for commitment, nonce, sealed in rows:
            try:
                plain = self._aead.decrypt(bytes(nonce), bytes(sealed), _AAD + commitment.encode("ascii"))
                op = Opening(decode_scalar(plain[:32]), decode_scalar(plain[32:]))
            except Exception:  # noqa: BLE001 - InvalidTag, bad length: all mean tampering or a wrong key
                raise StoreError("a sealed opening does not decrypt (wrong key or tampered store)") from None
            if gens.commit(op.value, op.blinding).encode().hex() != commitment:
                raise StoreError("a sealed opening does not open its commitment")
            out[commitment] = op
        return out

    # -- non-secret rows ----------------------------------------------------------------
    def prepared(self, member: str, request_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT commitment FROM prepared WHERE member = ? AND request_id = ?",
                                   (member, request_id)).fetchone()
        return None if row is None else row[0]

    def put_prepared(self, member: str, request_id: str, commitment: str, op: Opening) -> None:
        """Store a prepared contribution's opening and its request id together."""
        nonce, sealed = self._seal(commitment, op)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT OR IGNORE INTO openings (commitment, nonce, sealed) VALUES (?, ?, ?)",
                                 (commitment, nonce, sealed))
                self._db.execute("INSERT INTO prepared (member, request_id, commitment) VALUES (?, ?, ?)",
                                 (member, request_id, commitment))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- recorded answers of the aggregate steps (sealed: not public until booked) ---------
    def put_answer(self, step: str, answer: bytes) -> None:
        """Record the answer to a node-driven aggregate step (``step`` is its
        canonical name); the first record wins."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, bytes(answer), _AAD_ANSWER + step.encode())
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO answers (step, nonce, sealed) VALUES (?, ?, ?)",
                             (step, nonce, sealed))

    def load_answers(self) -> dict[str, bytes]:
        with self._lock:
            rows = self._db.execute("SELECT step, nonce, sealed FROM answers").fetchall()
        out = {}
        for step, nonce, sealed in rows:
            try:
                out[step] = self._aead.decrypt(bytes(nonce), bytes(sealed), _AAD_ANSWER + step.encode())
            except Exception:  # noqa: BLE001 - InvalidTag: tampering or a wrong key
                raise StoreError("a recorded answer does not decrypt (wrong key or tampered store)") from None
        return out

    # -- the highest (seq, chain head) of the node's ledger this prover followed -------
    def watermark(self) -> tuple[int, bytes]:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'watermark'").fetchone()
        if row is None:
            return 0, b""
        seq, head = row[0].split(":")
        return int(seq), bytes.fromhex(head)

    def set_watermark(self, seq: int, head: bytes) -> None:
        """Raise the watermark to (seq, head); never lowers it."""
        with self._lock:
            cur = self._db.execute("SELECT value FROM meta WHERE key = 'watermark'").fetchone()
            if cur is not None and int(cur[0].split(":")[0]) >= seq:
                return
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('watermark', ?)",
                             (f"{seq}:{bytes(head).hex()}",))

    def alarm(self) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'alarm'").fetchone()
        return None if row is None else row[0]

    def set_alarm(self, reason: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('alarm', ?)", (reason,))


__all__ = ["SealedStore", "StoreError", "check_key_file", "load_or_create_key"]
