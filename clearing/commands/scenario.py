"""``zkclear scenario historical``: build an expected-shortfall scenario set
(issue 13) from daily settlement prices -- a CSV file (``--prices``) or a
seeded synthetic fat-tailed history (``--synthetic``) -- as the operator's
scenario-set file for ``zkclear admin settle --scenario-set`` (``--format
set``, the default), as the ``margin_scenarios`` section of a scenario file
(``--format margin-scenarios``) or as a whole scenario file: ``--scenario
FILE`` with its margin scenarios replaced (``--format scenario``).

The price file format, the P&L rule (exact integers, no rounding), the tail
count k = max(1, round half up of window * (1 - alpha)) and the synthetic
model are specified in :mod:`clearing.ccp.historical`.  Examples::

    zkclear scenario historical --prices settle.csv --multipliers contracts.json \\
        --window 1000 --holding-days 2 --alpha 0.975 --out es-set.json
    zkclear scenario historical --synthetic --instruments 50 --days 1200 --seed 7 --window 1000
    zkclear scenario historical --synthetic --scenario ccp-demo.json --window 500 --format scenario
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from . import CommandError, int_in

_ALPHA = re.compile(r"0\.[0-9]{1,18}")


class ScenarioUsageError(CommandError):
    """Options that do not go together (exit code 2, like argparse's)."""

    exit_code = 2


def _alpha(text: str) -> str:
    if not _ALPHA.fullmatch(text) or not any(c != "0" for c in text[2:]):
        raise argparse.ArgumentTypeError(f"expected a decimal like 0.975 (0 < alpha < 1), got {text[:32]!a}")
    return text


def configure(parser) -> None:
    parser.description = __doc__.split("\n\n")[0].replace("``", "'")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    h = sub.add_parser("historical", help="an expected-shortfall scenario set from daily settlement prices",
                       description=__doc__.replace("``", "'"), formatter_class=argparse.RawDescriptionHelpFormatter)
    src = h.add_mutually_exclusive_group(required=True)
    src.add_argument("--prices", metavar="FILE.csv", help="daily settlement prices (date, one column per contract)")
    src.add_argument("--synthetic", action="store_true", help="a seeded synthetic fat-tailed price history")
    h.add_argument("--multipliers", metavar="FILE",
                   help="JSON {contract: multiplier} or a scenario file (for columns without ID*MULT)")
    h.add_argument("--scenario", metavar="FILE",
                   help="a scenario file: its instruments (synthetic) and, with --format scenario, the base file")
    h.add_argument("--instruments", type=int_in(1, 4096, "instruments"),
                   help="with --synthetic and no --scenario: the number of random futures")
    h.add_argument("--days", type=int_in(2, 1 << 16, "days"),
                   help="with --synthetic: price rows (default: window + holding days)")
    h.add_argument("--seed", type=int_in(0, (1 << 63) - 1, "seed"), default=1, help="with --synthetic (default 1)")
    h.add_argument("--window", type=int_in(1, 2048, "window"), default=1000,
                   help="scenarios: the last WINDOW overlapping moves (default 1000)")
    h.add_argument("--holding-days", type=int_in(1, 250, "holding days"), default=2,
                   help="holding period h of each move, in trading days (default 2)")
    h.add_argument("--alpha", type=_alpha, default="0.975", help="ES confidence level (default 0.975)")
    h.add_argument("--version", type=int_in(0, (1 << 32) - 1, "version"), default=0,
                   help="scenario-set version (--format set)")
    h.add_argument("--format", choices=("set", "margin-scenarios", "scenario"), default="set",
                   help="what to write (default: the operator's scenario-set file)")
    h.add_argument("--write-prices", metavar="FILE.csv", help="also write the price history used (CSV)")
    h.add_argument("--out", metavar="FILE", help="output file (default: standard output)")


def run(args) -> int:
    from clearing.ccp.historical import (
        dumps_set,
        historical_set,
        read_multipliers,
        read_prices,
        synthetic_history,
        synthetic_instruments,
        with_es_margin,
    )
    from clearing.ccp.scenario import ScenarioError, load_scenario

    if args.format == "scenario" and not args.scenario:
        raise ScenarioUsageError("--format scenario needs --scenario FILE (the base scenario)")
    if args.prices and (args.instruments or args.days):
        raise ScenarioUsageError("--instruments and --days go with --synthetic")
    if args.synthetic and bool(args.instruments) == bool(args.scenario):
        raise ScenarioUsageError("--synthetic needs exactly one of --instruments N or --scenario FILE")
    try:
        base = load_scenario(args.scenario) if args.scenario else None
        if args.synthetic:
            ins = base.instruments if base is not None else synthetic_instruments(args.instruments, args.seed)
            hist = synthetic_history(ins, args.days or args.window + args.holding_days, args.seed)
        else:
            mults = read_multipliers(args.multipliers) if args.multipliers else None
            if mults is None and base is not None:
                mults = {i.id: i.multiplier for i in base.instruments}
            hist = read_prices(args.prices, mults)
        hs = historical_set(hist, args.window, args.holding_days, args.alpha)
        if args.format == "scenario":
            assert base is not None
            text = with_es_margin(base, hs).to_json() + "\n"
        elif args.format == "margin-scenarios":
            text = dumps_set(hs.margin_scenarios())
        else:
            text = dumps_set(hs.scenario_set(args.version))
    except ScenarioError as exc:
        raise CommandError(str(exc)) from None
    if args.write_prices:
        Path(args.write_prices).write_text(hist.to_csv(), encoding="utf-8")
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{args.out}: {hs.window} scenarios x {len(hs.ids)} contracts, {hs.holding_days}-day moves "
              f"{hs.first_date}..{hs.last_date}, expected shortfall k = {hs.k} (alpha {hs.alpha})")
    else:
        print(text, end="")
    return 0
