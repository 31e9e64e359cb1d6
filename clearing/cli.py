"""The ``zkclear`` command line.

Subcommands are registered in :data:`COMMANDS` (name -> module, one-line
help).  Only the module of the command being run is imported; it provides

    configure(parser: argparse.ArgumentParser) -> None
    run(args: argparse.Namespace) -> int | None

so adding ``init``, ``serve``, ``demo``, ``participant``, ``admin`` or
``audit`` is one registry line plus its module.

Exit codes: 0 success; 1 an error, printed as ONE line on stderr
(``zkclear <command>: error: <message>``, no traceback); 2 a usage error,
also one line (argparse's message without the usage synopsis -- a bad
option value such as ``--port 70000`` included -- or a command's own usage
error); 130 interrupted.
A command picks the exit code of an error by giving the exception class an
``exit_code`` attribute (:class:`CliError` 1, :class:`UsageError` 2; any
module's own error types may do the same without importing this one).
Set ZKCLEAR_TRACEBACK=1 to let errors propagate with their traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

PROG = "zkclear"

#: name -> (module providing configure/run, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "bench": ("bench", "measure proof generation and verification cost"),
    "init": ("clearing.commands.init", "create a development PKI, service config and ledger genesis"),
    "serve": ("clearing.commands.serve", "run the clearing node, the prover service or the auditor"),
    "participant": ("clearing.commands.participant", "act as a clearing member (trade, affirm, deposit, ...)"),
    "admin": ("clearing.commands.admin", "the operator's console (prices, margin, defaults, cycle close)"),
    "audit": ("clearing.commands.audit", "re-verify the clearing node's public ledger"),
    "scenario": ("clearing.commands.scenario", "build margin scenario sets (historical expected shortfall)"),
    "demo": ("clearing.demo.run", "run a whole clearing house on localhost through a scenario with a default"),
}


class CliError(Exception):
    """An error to report as one line, exit code 1."""

    exit_code = 1


class UsageError(CliError):
    """A usage error reported by a command after parsing, exit code 2."""

    exit_code = 2


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line: ``<prog>: error: <message>``
    (``--help`` still prints the usage)."""

    def error(self, message: str):
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text} (see '{self.prog} --help')\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zkclear")
    except PackageNotFoundError:
        return "unknown"


def _command_in(argv: list[str]) -> str | None:
    """The subcommand named in argv: its first non-option word (the top-level
    parser has no options taking values)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> tuple[argparse.ArgumentParser, dict]:
    """The top-level parser; ``command``'s module is imported and configures
    its subparser (the others stay unconfigured, so their modules are not
    imported).  Returns (parser, {name: subparser})."""
    parser = _Parser(
        prog=PROG,
        description="zkclear: a zero-knowledge private clearing house.",
        epilog="Run 'zkclear COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers = {}
    for name, (_module_name, help_text) in COMMANDS.items():
        subparsers[name] = sub.add_parser(name, help=help_text, description=help_text)
    if command is not None:
        module = importlib.import_module(COMMANDS[command][0])
        module.configure(subparsers[command])
        subparsers[command].set_defaults(_run=module.run)
    return parser, subparsers


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("ZKCLEAR_TRACEBACK", "") not in ("", "0")
    command = _command_in(argv)
    where = f"{PROG} {command}" if command else PROG
    try:
        parser, _ = build_parser(command)
    except Exception as exc:  # a command module that cannot load: one line, exit 1
        if debug:
            raise
        print(f"{where}: error: cannot load command: {_describe(exc)}", file=sys.stderr)
        return 1
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (argparse printed them)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not getattr(args, "command", None):
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: a command is required ({', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    try:
        code = args._run(args)
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. piped into `head`): not an error of ours.
        _silence_stdout()
        return 1
    except Exception as exc:
        if debug:
            raise
        print(f"{where}: error: {_describe(exc)}", file=sys.stderr)
        code = getattr(exc, "exit_code", 1)
        return code if isinstance(code, int) and code > 0 else 1
    return 0 if code is None else int(code)


def _describe(exc: BaseException) -> str:
    """One line: the message alone for errors written for users (anything
    with an ``exit_code``, OS errors, zkclear's own errors), otherwise the
    exception type and message."""
    text = " ".join(str(exc).split())
    if hasattr(exc, "exit_code") or isinstance(exc, OSError) or _is_zkclear_error(exc):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _is_zkclear_error(exc: BaseException) -> bool:
    errors = sys.modules.get("zkp.errors")
    return errors is not None and isinstance(exc, errors.ZkclearError)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
