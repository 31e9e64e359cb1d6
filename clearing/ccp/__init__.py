"""The CCP domain in plain integers: its rules, its scenario format, its
plaintext oracle, and a scenario generator (DESIGN §4-§6, §10).

Modules
-------
rules      the CCP's public arithmetic written once -- variation margin,
           close-out loss, margin requirement, the defaulter's own resources
           (tranches 1-2) and the mutual tranches 3-6 on D0.  Used by the
           fold (:mod:`clearing.fold`, hence the node and the prover) and by
           the members' clients.
scenario   the scenario file format: frozen dataclasses, the strict loader,
           the shipped demo scenario, the P&L array A[s][i], the
           deposit-grid rounding.  Imports only strict.
strict     the strict JSON parser, the typed field readers and
           ScenarioError.  Imports nothing of the house.
oracle     the plaintext reference run of a scenario, with its *own*
           arithmetic; imports only the scenario format and its oracle_*
           modules.
oracle_margin  the oracle's scan P&L and requirement and the requirement
           under the set's margin model (the expected shortfall, exact, in
           its own arithmetic).
oracle_pretrade  the oracle's pre-trade headroom and intraday runs
           (issue 14 §1).
historical historical-simulation ES scenario sets from daily prices, and a
           seeded synthetic fat-tailed price history.
generate   random but realistic scenarios ending in a default that reaches
           tranche 4; sizes them with the rules and checks them with the
           oracle.

Dependencies inside the package, one way:

    rules     imports nothing of the house
    strict    imports nothing of the house
    scenario  imports strict
    oracle    imports scenario and its oracle_* modules (which import at most scenario)
    historical imports scenario
    generate  imports scenario, rules, oracle   (nothing imports generate)

The independence rule: :mod:`clearing.ccp.oracle` never imports
:mod:`clearing.ccp.rules` nor :mod:`clearing.fold`.  The engine and the
oracle therefore compute every public amount with two implementations, and
the engine-vs-oracle cross-checks (the demo, ``tests/test_engine_oracle.py``)
can fail; ``tests/test_ccp_rules.py`` enforces the rule and shows a perturbed
fold rule being caught.  Nothing in this package imports clearing.fold,
clearing.node or anything above them.
"""
