"""``zkclear demo --margin-model es`` (issue 13): the multi-process demo with
the built-in scenario under an expected-shortfall set of 500 historical
2-day moves (k = 13 at alpha 0.975) simulated from its instruments; every
proof verifies, the auditor agrees and the public outcome equals the
plaintext oracle's.  The whole run is slow (about 1,000 range values per
member per margin proof); the option's wiring is checked fast."""
from __future__ import annotations

import pytest

from clearing.ccp.oracle import run_oracle
from clearing.ccp.scenario import builtin_scenario, scenario_model
from clearing.demo import run as D
from support.demo import check_report, demo


def test_margin_model_option_builds_the_es_scenario_and_keeps_the_default():
    assert D.load_demo_scenario(D.DemoOptions()) == builtin_scenario()
    es = D.load_demo_scenario(D.DemoOptions(margin_model="es"))
    assert scenario_model(es) == {"kind": "es", "k": 13} and es.margin_scenarios.count == D.ES_WINDOW == 500
    assert es.instruments == builtin_scenario().instruments
    # an ES scenario file is run as it is
    assert D.load_demo_scenario(D.DemoOptions(margin_model="es", generate=True, members=3, instruments=1,
                                              scenarios=4, cycles=1, seed=2)).margin_scenarios.count == 500
    parser = __import__("argparse").ArgumentParser()
    D.configure(parser)
    assert parser.parse_args([]).margin_model == "scan"
    assert parser.parse_args(["--margin-model", "es"]).margin_model == "es"
    with pytest.raises(SystemExit):
        parser.parse_args(["--margin-model", "var"])


@pytest.mark.slow
def test_demo_under_expected_shortfall(tmp_path):
    p, report = demo(tmp_path, "--margin-model", "es", timeout=3600)
    check_report(tmp_path, p, report)
    assert "500 margin scenarios (expected shortfall, k = 13, alpha 0.975)" in p.stdout
    assert report["defaults"] == [{"member": "A", "cycle": 5}]
    oracle = run_oracle(D.load_demo_scenario(D.DemoOptions(margin_model="es")), "normal")
    assert report["loss"] == sum(e.loss for e in oracle.default_events)
    assert [c for d in report["days"] for c in d["calls"]] == [
        [c.member, c.kind] for d in oracle.days for c in d.calls]
