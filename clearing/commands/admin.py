"""``zkclear admin --config DIR ACTION``: the operator's console.  Every
input is signed with the operator's key and sent with the operator's
certificate to the clearing node's AdminService.

Actions: status, default-event, admit (all members of the roster, or NAME), settle
(prices and the scenario set; --pretrade for the pre-trade risk limit), intraday --marks
(an intraday margin run on signed marks: issue 14 §1), open-epoch (the group's default-fund
total D), margin (the node obtains the prover's margin
batch and verifies it), params --sitg1 N --sitg2 N --cap N (the CCP's skin in
the game and assessment cap multiple), declare-default MEMBER, declare-insolvency MEMBER
--reason TEXT (any member not in default, at any time), liquidate MEMBER (a member that
failed maintenance: issue 14 §2), open-default (disclosure
and D0 from the prover), close-out INDEX --prices [--lots] (the auction result; then the pro-rata
allocations), close (the cycle, printing its signed digest), reports.
Pass --request-id to retry a command safely: it is applied once, and a
retry -- after a lost reply or a DEADLINE_EXCEEDED, which may have been
applied -- prints the recorded result, whatever happened since (a retried
close without --cycle prints the digest of the cycle it closed)."""
from __future__ import annotations

import json

from . import AMOUNT_LIMIT, CYCLE, INDEX, CommandError, add_actions, add_config, int_in, price_list, rpc_errors

_SITG = int_in(0, AMOUNT_LIMIT - 1, "skin in the game")


def configure(parser) -> None:
    parser.description = __doc__.replace("``", "'")
    add_config(parser)
    parser.add_argument("--cycle", type=CYCLE, help="cycle (default: the ledger's current cycle)")
    sub = add_actions(parser)
    sub.add_parser("status", help="ledger status: cycle, phase, members, digests")
    a = sub.add_parser("admit", help="admit members of the roster")
    a.add_argument("member", nargs="?", help="one member (default: every member not yet admitted)")
    s = sub.add_parser("settle", help="publish settlement prices and the scenario set")
    s.add_argument("--prices", type=price_list, required=True,
                   help="comma-separated settlement prices, in instrument order")
    s.add_argument("--scenario-set", metavar="FILE",
                   help='JSON {"version": V, "matrix": [[...], ...]} and optionally "model": {"kind": "es", '
                        '"k": K} (zkclear scenario historical writes one; default: the packaged ccp-demo set)')
    s.add_argument("--version", type=int_in(0, (1 << 32) - 1, "version"), default=0,
                   help="scenario-set version (with the default set)")
    s.add_argument("--maintenance", metavar="RATIO",
                   help='maintenance ratio mu as a decimal string, e.g. "0.8" (issue 14 §2; scan sets only): '
                        "members failing IM but passing maintenance are called, the others liquidated")
    s.add_argument("--penalty-bps", type=int_in(0, 10_000, "penalty"), default=0,
                   help="liquidation penalty in basis points of the closed-out notional (with --maintenance)")
    s.add_argument("--pretrade", action="store_true",
                   help="turn the pre-trade risk limit on (issue 14 §1; scan sets only): each margin run commits "
                        "every member's headroom and every novation must prove both sides stay within it")
    it = sub.add_parser("intraday", help="an intraday margin run on operator-signed marks (issue 14 §1): no VM "
                                         "is settled; members are classified and their headroom reset")
    it.add_argument("--marks", type=price_list, required=True, help="comma-separated marks, in instrument order")
    it.add_argument("--run", type=int_in(1, (1 << 32) - 1, "run"),
                    help="the run number within the cycle (default: the next one; give it to retry a run)")
    sub.add_parser("margin", help="run the cycle's margin batch")
    sub.add_parser("open-epoch",
                   help="close the funding window once every member has filed (the prover opens the group total D)")
    pa = sub.add_parser("params", help="set the CCP's skin in the game (SITG 1, 2) and assessment cap multiple")
    pa.add_argument("--sitg1", type=_SITG, required=True, help="skin in the game 1 (minor units)")
    pa.add_argument("--sitg2", type=_SITG, required=True, help="skin in the game 2 (minor units)")
    pa.add_argument("--cap", type=int_in(0, 255, "cap"), required=True,
                    help="assessment cap multiple of the default fund (0..255)")
    d = sub.add_parser("declare-default", help="declare a called member in default")
    d.add_argument("member")
    di = sub.add_parser("declare-insolvency", help="declare any member not in default insolvent, with a reason")
    di.add_argument("member")
    di.add_argument("--reason", required=True, help="the operator's reason, 1..256 printable characters (public)")
    lq = sub.add_parser("liquidate", help="liquidate a member that failed maintenance at this cycle's margin run")
    lq.add_argument("member")
    sub.add_parser("open-default", help="open the default event (disclosure, D0)")
    c = sub.add_parser("close-out", help="close-out prices of default event INDEX; runs the waterfall")
    c.add_argument("index", type=INDEX)
    c.add_argument("--prices", type=price_list, required=True, help="comma-separated close-out prices")
    c.add_argument("--lots", metavar="FILE",
                   help='auction result, JSON [{"winner": W, "instrument": I, "quantity": Q}, ...] '
                        '(default: every disclosed position to the public auction book)')
    sub.add_parser("default-event", help="the default event in progress and the disclosed accounts")
    sub.add_parser("close", help="close the cycle and print its signed digest")
    r = sub.add_parser("reports", help="default reports")
    r.add_argument("--json", action="store_true", help="machine-readable JSON")


def _scenario_set(args) -> tuple[int, list[list[int]], dict | None]:
    """(version, matrix, model): the model None (the scan) or {"kind": "es", "k": k}."""
    if args.scenario_set:
        try:
            with open(args.scenario_set, encoding="utf-8") as fh:
                data = json.load(fh)
            model = data.get("model")
            if model is not None and model.get("kind", "scan") == "scan":
                model = None
            elif model is not None:
                model = {"kind": str(model["kind"]), "k": int(model["k"])}
            return int(data["version"]), [[int(x) for x in row] for row in data["matrix"]], model
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CommandError(f"cannot read scenario set {args.scenario_set}: {exc}") from None
    from clearing.ccp.scenario import builtin_scenario, scenario_matrix

    return args.version, scenario_matrix(builtin_scenario()), None


def _terms(args) -> dict | None:
    """The maintenance terms of ``settle --maintenance RATIO --penalty-bps N`` (issue 14 §2), or None."""
    if args.maintenance is None:
        if args.penalty_bps:
            raise CommandError("--penalty-bps needs --maintenance")
        return None
    from clearing.protocol.maintenance import parse_ratio

    try:
        num, den = parse_ratio(args.maintenance)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return {"num": num, "den": den, "penalty_bps": args.penalty_bps}


def _check_set_instruments(args, op) -> None:
    """A scenario-set file that names its instruments (``zkclear scenario
    historical`` writes them) must name the ledger's, in order."""
    if not args.scenario_set:
        return
    with open(args.scenario_set, encoding="utf-8") as fh:
        named = json.load(fh).get("instruments")
    ids = [i.id for i in op.status().instruments]
    if named is not None and named != ids:
        raise CommandError(f"scenario set {args.scenario_set} is for instruments {str(named)[:80]}, "
                           f"the ledger's are {str(ids)[:80]}")


def run(args) -> int:
    """Dispatch of the admin subcommands: one branch per action, each a few lines."""
    from clearing.clients.operator import Operator
    from clearing.node.reports import report_table
    from clearing.services import config as services_config
    from clearing.services.pki import load_config, load_identity

    roster = load_config(args.config)
    target = services_config.endpoint(args.config, "clearing")
    op = Operator(load_identity(args.config, "operator"), roster, target)
    rid, cycle = args.request_id, args.cycle
    try:
        with rpc_errors(f"clearing node at {target}"):
            if args.action == "status":
                st = op.status()
                print(f"cycle {st.cycle} ({st.phase}), epoch {st.epoch}, ledger seq {st.seq}, head {st.head.hex()}")
                print(f"members: {', '.join(st.members) or '-'}")
                print(f"instruments: {', '.join(i.id for i in st.instruments)}; prices {list(st.prices)}")
                for k, digest in enumerate(st.digests):
                    print(f"cycle {k + 1} digest {digest.hex()}")
            elif args.action == "admit":
                names = [args.member] if args.member else op.admit_all()
                if args.member:
                    op.admit(args.member, request_id=rid)
                print(f"admitted: {', '.join(names) or 'nobody new'}")
            elif args.action == "settle":
                version, matrix, model = _scenario_set(args)
                _check_set_instruments(args, op)
                seq = op.settle(args.prices, matrix, version, cycle=cycle, request_id=rid, model=model,
                                maintenance_terms=_terms(args), pretrade=args.pretrade)
                print(f"settled: ledger event {seq}")
            elif args.action == "intraday":
                for m, r in sorted(op.intraday(args.marks, run=args.run, cycle=cycle, request_id=rid).items()):
                    print(f"{m}: {r}")
            elif args.action == "margin":
                for m, r in sorted(op.run_margin(cycle=cycle, request_id=rid).items()):
                    print(f"{m}: {r}")
            elif args.action == "open-epoch":
                print(f"funding window closed, group total opened: ledger event {op.open_epoch(cycle, rid)}")
            elif args.action == "params":
                seq = op.set_ccp_parameters(args.sitg1, args.sitg2, args.cap, cycle, rid)
                print(f"CCP parameters set: ledger event {seq}")
            elif args.action == "declare-default":
                print(f"default declared: ledger event {op.declare_default(args.member, cycle, rid)}")
            elif args.action == "declare-insolvency":
                seq = op.declare_insolvency(args.member, args.reason, cycle, rid)
                print(f"insolvency declared: ledger event {seq}")
            elif args.action == "liquidate":
                print(f"liquidated: ledger event {op.liquidate(args.member, cycle, rid)}; "
                      "then open-default and close-out")
            elif args.action == "open-default":
                print(f"default event {op.open_default(cycle, rid)} opened")
            elif args.action == "close-out":
                lots = None
                if args.lots:
                    try:
                        with open(args.lots, encoding="utf-8") as fh:
                            lots = [{"winner": str(x["winner"]), "instrument": str(x["instrument"]),
                                     "quantity": int(x["quantity"])} for x in json.load(fh)]
                    except (OSError, ValueError, KeyError, TypeError) as exc:
                        raise CommandError(f"cannot read lots {args.lots}: {exc}") from None
                need = op.close_out(args.index, args.prices, lots, cycle, rid)
                print("waterfall complete" if not need else f"pending allocations: {need}")
            elif args.action == "default-event":
                ev = op.default_event()
                if not ev.in_progress:
                    print("no default event in progress")
                else:
                    print(f"default event {ev.index}: stage {ev.stage}")
                    for d in ev.disclosed:
                        print(f"  {d.member}: cash {d.cash}, df {d.df}, positions {list(d.positions)}")
            elif args.action == "close":
                print(f"cycle closed, digest {op.close_cycle(cycle, rid)}")
            elif args.action == "reports":
                reports = op.reports()
                if args.json:
                    print(json.dumps(reports, indent=2, sort_keys=True))
                else:
                    print("\n\n".join(report_table(r) for r in reports) or "no default events")
    finally:
        op.close()
    return 0
