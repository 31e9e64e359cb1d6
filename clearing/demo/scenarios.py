"""The demo's packaged scenarios, selectable by name (``zkclear demo
--scenario bad-debt``); anything else is a path to a scenario JSON file.

=============  ==========================  =====================================
name           file (package clearing.data)  what it shows
=============  ==========================  =====================================
``demo``       ccp-demo.json               DESIGN §10: calls, cures, a default
                                           reaching the survivors' fund
                                           (variants normal, harsh)
``bad-debt``   ccp-bad-debt.json           issue 14: a default through the
                                           insurance fund, both SITG tranches,
                                           the fund and capped assessments into
                                           VM gains haircutting (variants
                                           normal: pro rata with a rounding
                                           residual; severe: every gain taken,
                                           an uncovered loss left)
``cover2``     ccp-cover2.json             issue 14 §4: bad-debt with default-fund
                                           sizing (f = 1/20) and Cover-2 (tau, a
                                           stress set): funding window 0 after
                                           onboarding (met), the replenishment
                                           window after the last day (not met)
``liquidation`` ccp-liquidation.json      issue 14 §2: maintenance at 80 % of IM
                                           (penalty 50 bps): a member called and
                                           cured at exactly maintenance, one
                                           liquidated at once (normal: keeps a
                                           remainder, its penalty into the
                                           insurance fund; shortfall: bad debt
                                           through its df and the waterfall)
``pretrade``   ccp-pretrade.json           issue 14 §1: the pre-trade risk limit --
                                           a trade refused for lack of headroom,
                                           cured by a grid-rounded deposit and
                                           novated; an intraday margin run on
                                           operator-signed marks that resets H
                                           and calls a member, who cures
=============  ==========================  =====================================
"""
from __future__ import annotations

from importlib import resources

#: packaged scenario name -> file in clearing/data (the files' own names work too)
PACKAGED = {"demo": "ccp-demo.json", "ccp-demo": "ccp-demo.json",
            "bad-debt": "ccp-bad-debt.json", "ccp-bad-debt": "ccp-bad-debt.json",
            "cover2": "ccp-cover2.json", "ccp-cover2": "ccp-cover2.json",
            "liquidation": "ccp-liquidation.json", "ccp-liquidation": "ccp-liquidation.json",
            "pretrade": "ccp-pretrade.json", "ccp-pretrade": "ccp-pretrade.json"}


def load_named_scenario(name_or_path: str):
    """The packaged scenario called ``name_or_path``, else the scenario file
    at that path (:func:`clearing.ccp.scenario.load_scenario`)."""
    from clearing.ccp.scenario import load_scenario, parse_json

    packaged = PACKAGED.get(name_or_path)
    if packaged is None:
        return load_scenario(name_or_path)
    text = resources.files("clearing.data").joinpath(packaged).read_text(encoding="utf-8")
    return load_scenario(parse_json(text))


__all__ = ["PACKAGED", "load_named_scenario"]
