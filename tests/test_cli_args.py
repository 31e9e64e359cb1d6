"""Numeric CLI arguments are checked before anything runs (issue 11, item
10): an out-of-range port, amount, quantity, price, cycle or index, or a
malformed price list, is ONE line on stderr and exit code 2 -- no
traceback, no usage synopsis, nothing started or sent."""
from __future__ import annotations

import pytest

from clearing import cli, commands

CFG = ["--config", "/nonexistent-zkclear-config"]  # never read: parsing fails first

BAD = [
    (["serve", "clearing", *CFG, "--port", "70000"], "--port"),
    (["serve", "clearing", *CFG, "--port", "-1"], "--port"),
    (["serve", "prover", *CFG, "--port", "0x50"], "--port"),
    (["serve", "clearing", *CFG, "--grace", "nan"], "--grace"),
    (["serve", "clearing", *CFG, "--grace", "-1"], "--grace"),
    (["admin", *CFG, "settle", "--prices", "500000,,1750000,200000"], "--prices"),
    (["admin", *CFG, "settle", "--prices", "500000,1750000,"], "--prices"),
    (["admin", *CFG, "settle", "--prices", "500000, 17"], "--prices"),
    (["admin", *CFG, "settle", "--prices", "0,5"], "--prices"),
    (["admin", *CFG, "settle", "--prices", str(1 << 40)], "--prices"),
    (["admin", *CFG, "settle", "--prices", "5", "--version", "-1"], "--version"),
    (["admin", *CFG, "close-out", "-1", "--prices", "5"], "index"),
    (["admin", *CFG, "intraday", "--marks", "0,5"], "--marks"),
    (["admin", *CFG, "intraday", "--marks", "5,6", "--run", "0"], "--run"),
    (["admin", *CFG, "close-out", "0", "--prices", "5;6"], "--prices"),
    (["admin", *CFG, "--cycle", "0", "close"], "--cycle"),
    (["admin", *CFG, "--cycle", str(1 << 20), "close"], "--cycle"),
    (["admin", *CFG, "params", "--sitg1", "-1", "--sitg2", "0", "--cap", "2"], "--sitg1"),
    (["admin", *CFG, "params", "--sitg1", "0", "--sitg2", str(1 << 63), "--cap", "2"], "--sitg2"),
    (["admin", *CFG, "params", "--sitg1", "0", "--sitg2", "0", "--cap", "256"], "--cap"),
    (["participant", *CFG, "--name", "A", "deposit", "0"], "amount"),
    (["participant", *CFG, "--name", "A", "deposit", str(1 << 63)], "amount"),
    (["participant", *CFG, "--name", "A", "withdraw", "1_000"], "amount"),
    (["participant", *CFG, "--name", "A", "cure", " 5"], "amount"),
    (["participant", *CFG, "--name", "A", "fund", "-5"], "amount"),
    (["participant", *CFG, "--name", "A", "pay-assessment", "-1", "5"], "index"),
    (["participant", *CFG, "--name", "A", "trade", "--id", "t", "--with", "B", "--instrument", "ESX",
      "--side", "buy", "--qty", "0", "--price", "5"], "--qty"),
    (["participant", *CFG, "--name", "A", "trade", "--id", "t", "--with", "B", "--instrument", "ESX",
      "--side", "buy", "--qty", str(1 << 32), "--price", "5"], "--qty"),
    (["participant", *CFG, "--name", "A", "affirm", "t", "--price", "0"], "--price"),
    (["participant", *CFG, "--name", "A", "--request-id", "a/b", "deposit", "5"], "--request-id"),
    (["participant", *CFG, "--name", "A", "deposit", "5", "--request-id", "x" * 65], "--request-id"),
    (["init", "/nonexistent-zkclear-dir", "--members", "A", "--port-base", "70000"], "--port-base"),
    (["init", "/nonexistent-zkclear-dir", "--members", "A", "--validity-days", "0"], "--validity-days"),
]


@pytest.mark.parametrize("argv, option", BAD, ids=[" ".join(a[i] for i in (0, -2, -1)) for a, _ in BAD])
def test_bad_numeric_argument_is_a_one_line_usage_error(capsys, argv, option):
    assert cli.main(argv) == 2
    out = capsys.readouterr()
    lines = out.err.splitlines()
    assert len(lines) == 1, out.err
    assert lines[0].startswith(f"zkclear {argv[0]}") and ": error: argument " in lines[0] and option in lines[0]
    assert "Traceback" not in out.err and out.out == ""


def test_good_values_parse():
    parser, _ = cli.build_parser("admin")
    args = parser.parse_args(["admin", *CFG, "--cycle", "3", "settle", "--prices", "500000,1750000,200000"])
    assert args.prices == [500000, 1750000, 200000] and args.cycle == 3
    parser, _ = cli.build_parser("serve")
    assert parser.parse_args(["serve", "clearing", *CFG, "--port", "65535"]).port == 65535
    assert parser.parse_args(["serve", "clearing", *CFG, "--port", "0", "--grace", "0.5"]).grace == 0.5
    parser, _ = cli.build_parser("participant")
    args = parser.parse_args(["participant", *CFG, "--name", "A", "deposit", str((1 << 63) - 1)])
    assert args.amount == (1 << 63) - 1
    assert parser.parse_args(["participant", *CFG, "--name", "A", "fund", "0"]).amount == 0


def test_cli_bounds_agree_with_the_library():
    from clearing.protocol.fields import MAX_CYCLES
    from clearing.protocol.relay import MAX_QUANTITY
    from zkp.statements import MAX_PRICE, MAX_PUBLIC_AMOUNT

    assert commands.PRICE_LIMIT == MAX_PRICE
    assert commands.QUANTITY_LIMIT == MAX_QUANTITY
    assert commands.AMOUNT_LIMIT == MAX_PUBLIC_AMOUNT
    assert commands.CYCLE_LIMIT == MAX_CYCLES
