"""The zkclear command line and `zkclear bench` (shape, errors, registry)."""
from __future__ import annotations

import json

import pytest

import bench
from clearing import cli


def _one_line(text: str) -> str:
    """The single error line of stderr (progress lines "[backend] ..." and
    notes aside)."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(("[", "skipping "))]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


# -- top-level CLI ---------------------------------------------------------------------

def test_help_and_version(capsys):
    assert cli.main(["--help"]) == 0
    assert "bench" in capsys.readouterr().out
    assert cli.main(["--version"]) == 0
    assert "zkclear" in capsys.readouterr().out
    assert cli.main(["bench", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--json" in out and "--backend" in out and "--quick" in out
    assert "--cases" not in out  # hidden option


def test_usage_errors_exit_2(capsys):
    assert cli.main([]) == 2
    assert "command is required" in capsys.readouterr().err
    assert cli.main(["no-such-command"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert cli.main(["bench", "--backend", "no-such-backend"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert cli.main(["bench", "--no-such-flag"]) == 2
    capsys.readouterr()


def test_command_modules_load_lazily(monkeypatch, capsys):
    """Registry entries are imported only when their command runs."""
    monkeypatch.setitem(cli.COMMANDS, "ghost", ("no_such_module_zkclear", "a command whose module is missing"))
    assert cli.main(["--help"]) == 0
    assert "ghost" in capsys.readouterr().out
    assert cli.main(["bench", "--help"]) == 0  # unaffected by the broken entry
    capsys.readouterr()
    assert cli.main(["ghost"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("zkclear ghost: error: cannot load command: ") and "no_such_module_zkclear" in line


def test_unknown_case_is_usage_error(capsys):
    assert cli.main(["bench", "--backend", "ints", "--cases", "no_such_case"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("zkclear bench: error: unknown benchmark case(s) no_such_case")
    assert "range_1x64" in line


def test_unavailable_backend_is_one_line_error(capsys, monkeypatch):
    import zkp.group
    from zkp.errors import BackendError

    real_load = zkp.group._load

    def load(name):
        if name == "mcl":
            raise BackendError("group backend 'mcl' is not available: simulated")
        return real_load(name)

    monkeypatch.setattr(zkp.group, "_load", load)
    assert cli.main(["bench", "--backend", "mcl"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert line == "zkclear bench: error: group backend 'mcl' is not available: simulated"


def test_empty_cases_is_usage_error(capsys):
    assert cli.main(["bench", "--cases", ","]) == 2
    assert _one_line(capsys.readouterr().err) == "zkclear bench: error: --cases names no case"


# -- a fake suite exercises the runner without range proofs --------------------------------

@pytest.fixture
def fake_suite(monkeypatch):
    """Registers suite 'fake' with two cases (and removes it afterwards)."""
    monkeypatch.setitem(bench.SUITES, "fake", ())
    calls = []

    def proving(ctx):
        calls.append((ctx.backend, "proving", ctx.quick))
        ms, results = bench.median_ms(lambda: ctx.gens.commit(1, 2), ctx.reps(3, 2))
        assert len(results) == ctx.reps(3, 2)
        return {"prove_ms": ms, "verify_ms": ms, "size_bytes": 32}

    def batch(ctx):
        calls.append((ctx.backend, "batch", ctx.quick))
        assert ctx.shared_fixture("run-wide", list) is ctx.shared["run-wide"]
        ctx.shared["run-wide"].append(ctx.backend)
        assert ctx.shared["run-wide"] == [b for b, c, _ in calls if c == "batch"]
        shared = ctx.fixture("shared", lambda: object())
        assert ctx.fixture("shared", lambda: pytest.fail("fixture rebuilt")) is shared
        return {"verify_ms": 1.5, "note": "fake"}

    saved = dict(bench._CASES)
    bench.case("fake_proving", suite="fake", order=1)(proving)
    bench.case("fake_batch", suite="fake", order=2)(batch)
    yield calls
    bench._CASES.clear()
    bench._CASES.update(saved)


def test_fake_suite_json_and_table(fake_suite, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "fake", "--quick", "--backend", "ints", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert isinstance(report["machine"], str) and "cores" in report["machine"]
    assert report["quick"] is True and report["suite"] == "fake"
    assert [(r["backend"], r["case"]) for r in report["results"]] == [("ints", "fake_proving"), ("ints", "fake_batch")]
    row = report["results"][0]
    assert isinstance(row["prove_ms"], float) and isinstance(row["size_bytes"], int)
    assert fake_suite == [("ints", "proving", True), ("ints", "batch", True)]
    table = capsys.readouterr().out
    assert "fake_proving" in table and "fake_batch" in table and "verify ms" in table
    assert "ints/fake_batch: fake" in table


def test_cases_selects_subset_and_default_backends_skip_pyecc(fake_suite, capsys):
    assert cli.main(["bench", "fake", "--cases", "fake_batch"]) == 0
    ran = {b for b, _, _ in fake_suite}
    assert "pyecc" not in ran and ran
    assert {c for _, c, _ in fake_suite} == {"batch"}
    assert all(q is False for _, _, q in fake_suite)
    assert "skipping pyecc" in capsys.readouterr().err


def test_case_failure_is_one_line_exit_1(monkeypatch, capsys):
    monkeypatch.setitem(bench.SUITES, "fake", ())
    saved = dict(bench._CASES)

    def broken(ctx):
        raise bench.BenchError("range proof 1x64 #0 did not verify")

    def crashing(ctx):
        raise KeyError("boom")

    try:
        bench.case("fake_broken", suite="fake")(broken)
        assert cli.main(["bench", "fake", "--backend", "ints"]) == 1
        assert _one_line(capsys.readouterr().err) == \
            "zkclear bench: error: range proof 1x64 #0 did not verify"
        bench._CASES.pop("fake_broken")
        bench.case("fake_crash", suite="fake")(crashing)
        assert cli.main(["bench", "fake", "--backend", "ints"]) == 1
        assert _one_line(capsys.readouterr().err) == "zkclear bench: error: KeyError: 'boom'"
    finally:
        bench._CASES.clear()
        bench._CASES.update(saved)


def test_unwritable_json_is_one_line_error(fake_suite, tmp_path, capsys):
    target = tmp_path / "missing-dir" / "out.json"
    assert cli.main(["bench", "fake", "--backend", "ints", "--json", str(target)]) == 1
    assert _one_line(capsys.readouterr().err).startswith("zkclear bench: error: ")
    assert not target.exists()


def test_duplicate_case_name_refused():
    def a(ctx):
        return {}

    def b(ctx):
        return {}

    saved = dict(bench._CASES)
    try:
        bench.case("dup_case", suite="fake")(a)
        with pytest.raises(ValueError):
            bench.case("dup_case", suite="fake")(b)
    finally:
        bench._CASES.clear()
        bench._CASES.update(saved)


def test_machine_description_and_median():
    desc = bench.machine_description()
    assert "\n" not in desc and "cores" in desc and "Python" in desc
    assert bench.cpu_model()
    ms, results = bench.median_ms(lambda: 7, 3)
    assert results == [7, 7, 7] and isinstance(ms, float)
    with pytest.raises(ValueError):
        bench.median_ms(lambda: 7, 0)


def test_table_formats_missing_values_blank():
    report = {"machine": "m", "results": [
        {"backend": "gmpy2", "case": "range_1x64", "prove_ms": 1234.5678, "verify_ms": 2.5, "size_bytes": 672},
        {"backend": "gmpy2", "case": "batch_100x16x64", "verify_ms": 99.0},
    ]}
    lines = bench.format_table(report).splitlines()
    assert lines[0] == "m"
    assert "1,234.6" in lines[4] and "672" in lines[4]
    assert lines[5].split() == ["gmpy2", "batch_100x16x64", "99.00"]


# -- the real crypto suite (needs the range proofs) ---------------------------------------------

def _crypto_report(tmp_path, *extra):
    pytest.importorskip("prover.rangeproof")
    pytest.importorskip("gmpy2")
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "--quick", "--backend", "gmpy2", "--json", str(out), *extra]) == 0
    return json.loads(out.read_text())


def _check_range_row(row, size):
    assert row["backend"] == "gmpy2"
    assert isinstance(row["prove_ms"], float) and row["prove_ms"] > 0
    assert isinstance(row["verify_ms"], float) and row["verify_ms"] > 0
    assert row["size_bytes"] == size


def test_bench_range_1x64_json_shape(tmp_path, capsys):
    report = _crypto_report(tmp_path, "--cases", "range_1x64")
    assert isinstance(report["machine"], str) and report["machine"]
    assert [r["case"] for r in report["results"]] == ["range_1x64"]
    _check_range_row(report["results"][0], 672)
    assert "range_1x64" in capsys.readouterr().out


def test_bench_detects_a_bad_proof():
    pytest.importorskip("prover.rangeproof")
    from dataclasses import replace

    from bench import crypto
    from zkp.generators import generators

    gens = generators()
    inst = crypto._prove(gens, 1, 0)
    crypto._verify(gens, inst)
    bad = replace(inst, commitments=(inst.commitments[0] + gens.G,))
    with pytest.raises(bench.BenchError):
        crypto._verify(gens, bad)


def test_proof_pool_is_shared_across_backends():
    """A proof built on one backend is decoded and verified on another."""
    pytest.importorskip("prover.rangeproof")
    from bench import crypto
    from zkp.generators import generators
    from zkp.group import use_backend

    shared: dict = {}
    with use_backend("ints") as b:
        ctx = bench.BenchContext("ints", generators(b), True, shared=shared)
        crypto._add(ctx, crypto._prove(ctx.gens, 1, 0))
    with use_backend("gmpy2") as b:
        ctx2 = bench.BenchContext("gmpy2", generators(b), True, shared=shared)
        inst = crypto._decoded(ctx2, 1, 0)
        assert inst.proof.A.b is b and inst.commitments[0].b is b
        crypto._verify(ctx2.gens, inst)


@pytest.mark.slow
def test_bench_full_quick_run(tmp_path):
    report = _crypto_report(tmp_path)
    rows = {r["case"]: r for r in report["results"]}
    assert list(rows) == ["range_1x64", "range_16x64", "margin_20x16", "margin_es_1000x1000",
                          "batch_margin_100x20x16", "prorata_share", "headroom_20x16", "headroom_debit",
                          "batch_100x16x64"]
    _check_range_row(rows["range_1x64"], 672)
    _check_range_row(rows["range_16x64"], 928)
    # one 16x64 proof in the 6-byte statement frame; a margin proof adds its
    # 4-byte aux count (no aux points under the scan model)
    for name, size in (("margin_20x16", 928 + 6 + 4), ("prorata_share", 928 + 6)):
        assert isinstance(rows[name]["prove_ms"], float) and isinstance(rows[name]["verify_ms"], float)
        assert rows[name]["size_bytes"] == size
    # the issue-13 rows run on mcl only (minutes on gmpy2): present, empty, with the reason
    for name in ("margin_es_1000x1000", "batch_margin_100x20x16"):
        assert rows[name]["prove_ms"] is None and rows[name]["verify_ms"] is None
    batch = rows["batch_100x16x64"]
    assert batch["backend"] == "gmpy2" and isinstance(batch["verify_ms"], float)
    assert batch["proofs"] == 100 and 1 <= batch["distinct_proofs"] <= 100
