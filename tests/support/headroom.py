"""Shared pre-trade headroom helpers (issue 14 §1): a small ledger with the
limit's event fields (for the leakage walk) and a cheating debit prover."""
from __future__ import annotations

from pathlib import Path

from prover.custody.headroom import HeadroomRefused
from support.engine import INSTRUMENTS, MATRIX, Sim, basic_sim

PRICES = [i["price0"] for i in INSTRUMENTS]


def headroom_run(base: Path) -> Sim:
    """A pre-trade set, a margin run with headroom entries, one novation
    whose receipt carries the debit proof, a refusal, an intraday run."""
    directory = Path(base) / "headroom"
    directory.mkdir(parents=True, exist_ok=True)
    sim = basic_sim(directory, members=("A", "B", "C"), seed=b"headroom-run")
    sim.settle(PRICES, MATRIX, pretrade=True)
    sim.margin()
    sim.close()
    assert sim.trade("h1", "A", "B", "ESX", 1, PRICES[0])["status"] == "novated"
    try:  # beyond A's headroom: the prover's signed refusal, booked (pretrade-refusal)
        sim.trade("h2", "A", "B", "ESX", 10**4, PRICES[0])
    except HeadroomRefused as refused:
        sim.book_refusal(refused)
    else:  # pragma: no cover - the ledger must hold a refusal
        raise AssertionError("h2 should have been refused")
    from support.intraday import intraday_run  # issue 14 §1: an intraday run (intraday, intraday-batch)
    intraday_run(sim, [PRICES[0] + 10_000, PRICES[1]])
    return sim


def pretrade_sim(base: Path, seed: bytes) -> Sim:
    """A, B, C with 10^9 cash, D with H = 10^6 after one margin run under a
    pre-trade set; the cycle closed (the engine tests' starting point)."""
    s = basic_sim(base, seed=seed)
    s.admit("D")
    s.deposit("D", 1_000_000 + 10_000)
    s.fund("D", 10_000)
    s.settle(PRICES, MATRIX, pretrade=True)
    assert s.margin() == {"A": "pass", "B": "pass", "C": "pass", "D": "pass"}
    s.close()
    return s


def cheat_prove_unfolded(st, openings, rng=None):
    """Prove a one-chunk statement whatever its derived values are (negative
    ones wrap mod r), the prover's range checks switched off."""
    import prover.rangeproof as prover_mod
    from zkp.statements import chunk_transcript

    derived = st.derive_values(openings)
    saved = prover_mod._check_witness
    prover_mod._check_witness = lambda *a: None
    try:
        return (prover_mod.prove_range(chunk_transcript(st, 0), [d.value for d in derived],
                                       [d.blinding for d in derived], st.BITS, rng=rng),)
    finally:
        prover_mod._check_witness = saved
