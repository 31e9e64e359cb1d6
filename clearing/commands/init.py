"""``zkclear init DIR --members A,B,...``: development CA, certificates and
keys for the nodes (clearing, prover, auditor), the members and the
operator; the roster (zkclear.json), the service endpoints (services.json)
and the operator-signed ledger genesis (genesis.json) with the instruments
and CCP parameters of a scenario file (default: the packaged ccp-demo).
Laid out per party: each party's keys in its own 0700 directory
(node/NAME, member/NAME, operator/NAME; the prover's AES sealing key in
node/prover/prover.aes), each node's database in a data directory of its
own (data/clearing, data/prover) holding no key."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import CommandError, int_in


def configure(parser) -> None:
    parser.description = __doc__.replace("``", "'")
    parser.add_argument("directory", metavar="DIR", help="directory to create (must be empty)")
    parser.add_argument("--members", required=True, help="comma-separated member names, e.g. A,B,C")
    parser.add_argument("--scenario", metavar="FILE",
                        help="scenario JSON for instruments and CCP parameters (default: packaged ccp-demo)")
    parser.add_argument("--port-base", type=int_in(1024, 65533, "port base"), default=50151,
                        help="clearing node port; prover and auditor use the next two (default 50151)")
    parser.add_argument("--validity-days", type=int_in(1, 3650, "validity days"), default=365,
                        help="certificate validity (default 365)")
    parser.add_argument("--force", action="store_true", help="overwrite the files of an existing directory")


def run(args) -> int:
    from clearing.ccp.scenario import builtin_scenario, load_scenario
    from clearing.services import config as services_config
    from clearing.services.pki import init_pki, load_identity

    members = [m.strip() for m in args.members.split(",") if m.strip()]
    if not members:
        raise CommandError("--members needs at least one name")
    if not 1024 <= args.port_base <= 65533:
        raise CommandError("--port-base must be in [1024, 65533]")
    sc = load_scenario(args.scenario) if args.scenario else builtin_scenario()
    directory = Path(args.directory)
    if directory.exists() and any(directory.iterdir()) and not args.force:
        raise CommandError(f"{directory} is not empty (pass --force to overwrite its files)")
    roster = init_pki(directory, members, validity_days=args.validity_days, force=args.force)
    op = load_identity(directory, "operator")
    instruments: list[dict[str, Any]] = [{"id": i.id, "multiplier": i.multiplier, "tick": i.tick, "price0": i.price0}
                                         for i in sc.instruments]
    ccp: dict[str, Any] = {"skin_in_the_game_1": sc.ccp.skin_in_the_game_1,
                           "skin_in_the_game_2": sc.ccp.skin_in_the_game_2,
                           "assessment_cap_multiple": sc.ccp.assessment_cap_multiple}
    if sc.ccp.insurance_fund:  # optional genesis key (issue 14): absent means 0
        ccp["insurance_fund"] = sc.ccp.insurance_fund
    if sc.ccp.cooling_off_cycles:
        ccp["cooling_off_cycles"] = sc.ccp.cooling_off_cycles
    if sc.ccp.assessment_total_cap_multiple is not None:
        ccp["assessment_total_cap_multiple"] = sc.ccp.assessment_total_cap_multiple
    if sc.ccp.df_sizing is not None:  # issue 14 §4: default-fund sizing and Cover-2
        ccp["df_size_num"], ccp["df_size_den"] = sc.ccp.df_sizing
    if sc.ccp.cover2_tau is not None:
        ccp["cover2_tau"], ccp["stress_scenarios"] = sc.ccp.cover2_tau, [list(r) for r in sc.ccp.stress_scenarios or ()]
    ports = {"clearing": args.port_base, "prover": args.port_base + 1, "auditor": args.port_base + 2}
    services_config.write_service_files(directory, roster, op.ed25519_private, instruments, ccp, ports)
    print(f"initialised {directory}: {len(members)} members, operator, nodes clearing/prover/auditor; "
          f"instruments {', '.join(i['id'] for i in instruments)} (scenario {sc.name})")
    print(f"clearing 127.0.0.1:{ports['clearing']}  prover 127.0.0.1:{ports['prover']}  "
          f"auditor 127.0.0.1:{ports['auditor']}")
    print(f"keys under {directory}/node, member, operator (one 0700 directory per party; prover sealing key "
          f"{services_config.DEFAULT_KEYS['prover_key']}); databases under {directory}/data/clearing, data/prover")
    return 0
