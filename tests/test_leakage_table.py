"""The leakage table (docs/leakage.md; issue 10, DESIGN §2) is complete.

The event schema is walked, not listed by hand: the built-in scenario's two
variants and a small ledger with the remaining kinds (ccp-params, df-epoch,
withdraw, assessment-settle, assessment-pay; ``support.privacy.extra_ops_run``)
are run through the engine, and every (kind, field path) that occurs in an
event body of ``Engine.events()`` must have a row under ``### event `kind```.
Every kind the engine dispatches on (the phase registry ``clearing.node.core.CHECKS``, cross-checked with
the kinds ``apply_event`` folds) must be produced by that walk, so a new
kind fails here until it is produced and documented.  Likewise every field of
the default report, every field of every response message of the clearing,
prover, admin and auditor services (the generated descriptors of
``proto/zkclear/v1/*.proto``, nested messages included), the amounts a
member's client chooses and the residual leaks DESIGN §2 names.  Rows for
fields that no longer exist fail too, so the table stays accurate.
"""
from __future__ import annotations

import importlib
import re

import pytest

from clearing.fold.apply import FOLDS
from support import privacy as P

API_MODULES = ("common", "clearing", "prover", "admin", "auditor")
#: the amounts a member's client chooses (issue 10)
AMOUNTS = {"onboarding deposit", "funding", "cure deposit", "assessment deposit", "assessment from cash",
           "withdrawal"}
#: the residual leaks DESIGN §2 and issue 10 name
RESIDUALS = {"cure-bound", "assessment-bound", "tape-join", "few-holders", "few-survivors", "window-difference",
             "timing"}


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    """(kind -> field paths, report field paths) over every ledger the walk runs."""
    base = tmp_path_factory.mktemp("leakage")
    ledgers = [P.builtin_run(v, base).events for v in ("normal", "harsh")]
    extra = P.extra_ops_run(base)
    ledgers.append(extra.engine.events())
    # issue 14: the packaged bad-debt scenario reaches the insurance fund and tranche 8 (VM gains haircut)
    from clearing.demo.scenarios import load_named_scenario
    from support.engine import run_scenario
    (base / "bad-debt").mkdir()
    bad_debt, _ = run_scenario(base / "bad-debt", load_named_scenario("bad-debt"), "normal", seed=b"leakage")
    ledgers.append(bad_debt.engine.events())
    # issue 14 §4: sized filings, Cover-2 and an insolvency declaration
    from support.df_sizing import sized_ledger_run
    sized = sized_ledger_run(base)
    ledgers.append(sized.engine.events())
    from support.liquidation import liquidation_run  # issue 14 §2: a liquidation
    ledgers.append(liquidation_run(base).engine.events())
    from support.headroom import headroom_run  # issue 14 §1: the pre-trade limit's fields
    ledgers.append(headroom_run(base).engine.events())
    fields: dict[str, set[str]] = {}
    for events in ledgers:
        for kind, paths in P.event_fields(events).items():
            fields.setdefault(kind, set()).update(paths)
    reports = P.builtin_run("normal", base).reports + P.builtin_run("harsh", base).reports
    reports += extra.engine.default_reports() + bad_debt.engine.default_reports()
    members = {m for events in ledgers for _, b in events if b["kind"] == "admit" for m in [b["member"]]}
    report_fields = set()
    for r in reports:
        report_fields |= P.field_paths(r, members)
    return fields, report_fields


def folded_kinds() -> set[str]:
    """The event kinds ``apply_event`` folds (its registry ``FOLDS``)."""
    return set(FOLDS)


def response_messages() -> dict[str, list[str]]:
    """Every response message of every service, nested messages included:
    name -> field names (map fields as one field)."""
    out: dict[str, list[str]] = {}

    def walk(md):
        if md.name in out:
            return
        out[md.name] = [f.name for f in md.fields]
        for f in md.fields:
            if f.message_type is not None and not f.message_type.GetOptions().map_entry:
                walk(f.message_type)

    for name in API_MODULES:
        mod = importlib.import_module(f"clearing.api.{name}_pb2")
        for svc in mod.DESCRIPTOR.services_by_name.values():
            for meth in svc.methods:
                walk(meth.output_type)
    return out


def missing_rows(table: dict, expected: dict[tuple[str, str], set[str]]) -> list[str]:
    """Every expected (section, name, field) without a row, as text."""
    return [f"{sec} `{name}`: `{f}`" for (sec, name), fs in sorted(expected.items())
            for f in sorted(fs) if f not in table.get((sec, name), {})]


def stale_rows(table: dict, expected: dict[tuple[str, str], set[str]], sections) -> list[str]:
    """Rows (and whole tables) in ``sections`` for things that do not exist."""
    out = []
    for (sec, name), rows in sorted(table.items()):
        if sec not in sections:
            continue
        if (sec, name) not in expected:
            out.append(f"{sec} `{name}` (no such {sec})")
            continue
        out += [f"{sec} `{name}`: `{f}`" for f in sorted(rows) if f not in expected[(sec, name)]]
    return out


def test_the_walk_produces_every_kind_the_engine_accepts(walked):
    fields, _ = walked
    dispatch = P.dispatch_kinds()
    assert "assessment-settle" in dispatch and "df-epoch" in dispatch
    assert folded_kinds() == dispatch, "apply_event and the phase registry disagree on the event kinds"
    missing = sorted(dispatch - set(fields))
    assert not missing, f"extend support.privacy.extra_ops_run to produce {missing} (and document them)"
    # the walk sees the real schema: a kind's top-level fields are exactly what its check requires
    assert {f for f in fields["df-fund"] if "." not in f} == {"kind", "member", "epoch", "df", "ctx_seq", "proof",
                                                             "request_id", "sig"}
    assert {"disclosures.*.values", "results.*", "lots[].quantity", "trade.T"} <= set().union(*fields.values())


def test_every_event_field_has_a_row(walked):
    fields, _ = walked
    table = P.leakage_table()
    expected = {("event", k): fs for k, fs in fields.items()}
    missing, stale = missing_rows(table, expected), stale_rows(table, expected, {"event"})
    assert not missing, "docs/leakage.md lacks rows:\n" + "\n".join(missing)
    assert not stale, "docs/leakage.md has rows for nothing:\n" + "\n".join(stale)


def test_every_report_field_has_a_row(walked):
    _, report_fields = walked
    table = P.leakage_table()
    expected = {("report", "default report"): report_fields}
    # the walk saw both pro-rata purposes and the settlement of an assessment
    assert {"proofs.default-fund", "proofs.assessment", "defaulters[].unpaid_assessment"} <= report_fields
    assert {"proofs.vm-gains", "proofs.vm-gains-haircut", "vm_gains_haircut_rate.G"} <= report_fields  # tranche 8
    missing, stale = missing_rows(table, expected), stale_rows(table, expected, {"report"})
    assert not missing, "docs/leakage.md lacks rows:\n" + "\n".join(missing)
    assert not stale, "docs/leakage.md has rows for nothing:\n" + "\n".join(stale)


def test_every_rpc_response_field_has_a_row():
    msgs = response_messages()
    # the services' responses, nested messages included
    assert {"Ack", "Account", "LedgerEvent", "EpochTotal", "DefaultOpen", "Disclosure", "Balances", "AuditReport",
            "MarginEntry", "Trade"} <= set(msgs)
    table = P.leakage_table()
    expected = {("response", m): set(fs) for m, fs in msgs.items()}
    missing, stale = missing_rows(table, expected), stale_rows(table, expected, {"response"})
    assert not missing, "docs/leakage.md lacks rows:\n" + "\n".join(missing)
    assert not stale, "docs/leakage.md has rows for nothing:\n" + "\n".join(stale)


def test_client_amounts_and_residual_leaks_are_listed():
    table = P.leakage_table()
    amounts = set(table.get(("amount", "client choices"), {}))
    assert AMOUNTS <= amounts, f"missing amounts: {sorted(AMOUNTS - amounts)}"
    residuals = set(table.get(("residual", "known leaks"), {}))
    assert RESIDUALS <= residuals, f"missing residual leaks: {sorted(RESIDUALS - residuals)}"
    # every residual a row points to is explained in the residual table
    text = P.LEAKAGE_MD.read_text(encoding="utf-8")
    cited = set(re.findall(r"residual `([a-z0-9-]+)`", text)) - {"known leaks"}
    assert cited <= residuals, f"rows cite unexplained residuals: {sorted(cited - residuals)}"
    # no row is left empty
    empty = [(k, f) for k, rows in table.items() for f, rest in rows.items() if not re.search(r"\w", rest)]
    assert not empty, empty


def test_readme_section_links_the_table():
    readme = (P.ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^### What the clearing node learns.*?(?=^## )", readme, re.S | re.M)
    assert m, "README has no 'What the clearing node learns' section"
    section = " ".join(m.group().split())
    assert "docs/leakage.md" in section
    for leak in ("grid", "exchange prints", "few holders", "three survivors", "window", "timing"):
        assert leak in section, f"README section does not mention {leak!r}"


def test_the_checks_catch_a_removed_row(walked, tmp_path):
    """The completeness checks can fail: a copy of the table without one
    event row, one response row and one residual is caught."""
    fields, _ = walked
    text = P.LEAKAGE_MD.read_text(encoding="utf-8")
    cut = [line for line in text.splitlines()
           if not line.startswith(("| `trade.T` |", "| `d` |", "| `window-difference` |"))]
    assert len(cut) == len(text.splitlines()) - 3
    doc = tmp_path / "leakage.md"
    doc.write_text("\n".join(cut) + "\n", encoding="utf-8")
    table = P.leakage_table(doc)
    assert missing_rows(table, {("event", k): fs for k, fs in fields.items()}) == ["event `trade`: `trade.T`"]
    msgs = response_messages()
    assert missing_rows(table, {("response", m): set(fs) for m, fs in msgs.items()}) == ["response `EpochTotal`: `d`"]
    assert "window-difference" not in table[("residual", "known leaks")]
