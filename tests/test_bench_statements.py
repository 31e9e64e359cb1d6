"""`zkclear bench` statement cases produce the documented JSON shape."""
import json

from clearing.cli import main


def test_prorata_share_case_json(tmp_path):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--backend", "gmpy2", "--cases", "prorata_share", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    (row,) = report["results"]
    assert row["backend"] == "gmpy2" and row["case"] == "prorata_share"
    assert isinstance(row["prove_ms"], float) and isinstance(row["verify_ms"], float)
    # one 15-value proof padded to 16 x 64 bits (928 B) in the statement-proof frame (2 + 4 B)
    assert row["size_bytes"] == (2 * 10 + 9) * 32 + 6


def test_headroom_cases_json(tmp_path):
    """Issue 14 §1: the pre-trade limit's two proofs, with their sizes: the
    debit is 2 values (one 2x64 range proof, 672 + 64 B, in the 6-byte
    frame); the headroom 17 values padded to 32 x 64 (2*11 + 9 points and
    scalars) plus the margin family's 4-byte aux count."""
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--backend", "gmpy2", "--cases", "headroom_20x16,headroom_debit",
                 "--json", str(out)]) == 0
    rows = {r["case"]: r for r in json.loads(out.read_text())["results"]}
    for row in rows.values():
        assert isinstance(row["prove_ms"], float) and isinstance(row["verify_ms"], float)
    assert rows["headroom_debit"]["size_bytes"] == (2 * 7 + 9) * 32 + 6
    assert rows["headroom_20x16"]["size_bytes"] == (2 * 11 + 9) * 32 + 6 + 4
