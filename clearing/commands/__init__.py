"""Subcommands of the ``zkclear`` CLI for the services (init, serve,
participant, admin, audit).  Each module provides ``configure(parser)`` and
``run(args)`` (see :mod:`clearing.cli`).  gRPC failures are reported as one
line, ``<STATUS>: <details>``, through :class:`CommandError`."""
from __future__ import annotations

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


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise CommandError(f"expected comma-separated integers, got {text!r}") from None
