"""Subcommands of the ``zkclear`` CLI for the services (init, serve,
participant, admin, audit).  Each module provides ``configure(parser)`` and
``run(args)`` (see :mod:`clearing.cli`).  gRPC failures are reported as one
line, ``<STATUS>: <details>``, through :class:`CommandError`.

Running the services by hand (each node in its own terminal)::

    zkclear init demo --members A,B,C,D          # PKI, services.json, genesis.json
    zkclear serve clearing --config demo         # 127.0.0.1:50151
    zkclear serve prover   --config demo         # 127.0.0.1:50152
    zkclear serve auditor  --config demo         # 127.0.0.1:50153 (optional)

    zkclear admin --config demo admit
    zkclear participant --config demo --name A deposit 200000000
    zkclear participant --config demo --name A fund 5000000
    zkclear participant --config demo --name A trade --id t1 --with B \
        --instrument ESX --side buy --qty 3 --price 500000
    zkclear participant --config demo --name B pending
    zkclear participant --config demo --name B affirm t1 --qty 3 --price 500000
    zkclear admin --config demo settle --prices 501000,1750000,200000
    zkclear admin --config demo margin
    zkclear admin --config demo close
    zkclear audit --config demo

Stop a node with Ctrl-C or SIGTERM (graceful); restarting it resumes from
its database (``demo/data/``).

Numeric arguments are checked by argparse before anything runs (a usage
error, exit code 2, one line): :func:`int_in` and the kinds built from it --
:data:`PORT` 0..65535, :data:`AMOUNT` 1..2^63-1 (minor units),
:data:`QUANTITY` 1..2^32-1, :data:`PRICE` 1..2^40-1, :data:`CYCLE`
1..2^20-1, :data:`INDEX` 0..2^63-1 -- and :func:`price_list`, strictly
comma-separated prices (``500000,,1750000`` is refused).  A request id
must match ``[A-Za-z0-9][A-Za-z0-9._-]{0,63}`` (:func:`request_id`).
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import math
import re
import sys

import grpc

#: One past the largest public amount, index or skin in the game (signed 64-bit).
AMOUNT_LIMIT = 1 << 63
#: One past the largest trade quantity (clearing.protocol.relay.MAX_QUANTITY).
QUANTITY_LIMIT = 1 << 32
#: One past the largest price (zkp.statements.MAX_PRICE).
PRICE_LIMIT = 1 << 40
#: One past the largest cycle (clearing.protocol.fields.MAX_CYCLES).
CYCLE_LIMIT = 1 << 20
_INT_RE = re.compile(r"-?[0-9]+")
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _show(text: str) -> str:
    return ascii(text[:32]) + ("..." if len(text) > 32 else "")


def int_in(lo: int, hi: int, name: str = "integer"):
    """An argparse type: a decimal integer in [lo, hi] (inclusive; digits
    with an optional '-', nothing else)."""
    def parse(text: str) -> int:
        if _INT_RE.fullmatch(text) is None or len(text) > 40:
            raise argparse.ArgumentTypeError(f"expected an integer, got {_show(text)}")
        v = int(text)
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{name} must be in [{lo}, {hi}], got {v}")
        return v
    parse.__name__ = name
    return parse


def float_in(lo: float, hi: float, name: str = "number"):
    """An argparse type: a finite decimal number in [lo, hi]."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {_show(text)}") from None
        if not (math.isfinite(v) and lo <= v <= hi):
            raise argparse.ArgumentTypeError(f"{name} must be in [{lo:g}, {hi:g}]")
        return v
    parse.__name__ = name
    return parse


PORT = int_in(0, 65535, "port")
AMOUNT = int_in(1, AMOUNT_LIMIT - 1, "amount")
NONNEGATIVE_AMOUNT = int_in(0, AMOUNT_LIMIT - 1, "amount")
QUANTITY = int_in(1, QUANTITY_LIMIT - 1, "quantity")
PRICE = int_in(1, PRICE_LIMIT - 1, "price")
CYCLE = int_in(1, CYCLE_LIMIT - 1, "cycle")
INDEX = int_in(0, AMOUNT_LIMIT - 1, "index")


def price_list(text: str) -> list[int]:
    """An argparse type: comma-separated prices, e.g. ``501000,199990``
    (each a :data:`PRICE`; no empty item, no sign, no spaces)."""
    items = text.split(",")
    if not text or any(_INT_RE.fullmatch(x) is None or x.startswith("-") for x in items):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {_show(text)}")
    return [PRICE(x) for x in items]


def request_id(text: str) -> str:
    """An argparse type: a client request id."""
    if _REQUEST_ID_RE.fullmatch(text) is None:
        raise argparse.ArgumentTypeError("a request id must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}")
    return text


class CommandError(Exception):
    """An error reported by a service command as one line, exit code 1."""

    exit_code = 1


@contextlib.contextmanager
def rpc_errors(what: str):
    """Turn a gRPC failure into one clear line."""
    try:
        yield
    except grpc.RpcError as exc:
        code = exc.code() if hasattr(exc, "code") else None
        details = exc.details() if hasattr(exc, "details") else str(exc)
        if code == grpc.StatusCode.UNAVAILABLE:
            raise CommandError(f"{what} unavailable ({details})") from None
        name = code.name if code is not None else "ERROR"
        raise CommandError(f"{what}: {name}: {details}") from None


def add_config(parser) -> None:
    parser.add_argument("--config", metavar="DIR", required=True,
                        help="configuration directory written by 'zkclear init'")


def add_actions(parser):
    """Add ``--request-id`` and the required ACTION subparsers to ``parser``;
    returns the subparsers, whose every action also takes ``--request-id``
    (so it may stand before or after the action)."""
    help_text = "client request id (for a safe retry)"
    parser.add_argument("--request-id", type=request_id, help=help_text)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_parser = sub.add_parser

    def add_action(*a, **kw):
        sp = add_parser(*a, **kw)
        sp.add_argument("--request-id", type=request_id, default=argparse.SUPPRESS, help=help_text)
        return sp
    sub.add_parser = add_action
    return sub


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
