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
