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
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys

import grpc


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
    parser.add_argument("--request-id", help=help_text)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_parser = sub.add_parser

    def add_action(*a, **kw):
        sp = add_parser(*a, **kw)
        sp.add_argument("--request-id", default=argparse.SUPPRESS, help=help_text)
        return sp
    sub.add_parser = add_action
    return sub


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise CommandError(f"expected comma-separated integers, got {text!r}") from None
