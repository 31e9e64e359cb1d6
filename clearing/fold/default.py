"""The default-management part of the fold (DESIGN §6)."""
from __future__ import annotations

from clearing.ccp.rules import closeout_loss, mutual_tranches, own_resources
from clearing.fold.state import State
from clearing.protocol.encoding import canonical
from clearing.protocol.errors import (
    LedgerCorrupted,
)
from clearing.protocol.fields import AUCTION, sha256
from clearing.protocol.statements import disclosed_values

TRANCHE_NAMES = ("defaulter_margin", "defaulter_default_fund", "skin_in_the_game_1",
                 "survivors_default_fund", "skin_in_the_game_2", "assessments")


def _apply_default_management(state: State, seq: int, body: dict, alg) -> None:
    """The default-management part of the fold (DESIGN §6).

    dm-open      the prover's disclosure of every defaulter (values now public)
                 and the survivors' snapshot total D0: the event starts and
                 every survivor's df value is snapshotted.
    dm-closeout  the operator's close-out prices: positions to the auction book
                 at c, then tranches 1-2 per defaulter (public arithmetic with
                 the oracle's helpers, applied to the defaulter's commitments
                 as public amounts), the estate surplus released, and the
                 mutual tranches: SITG 1, survivors' df (in full homomorphically,
                 or pending a pro-rata proof), SITG 2, assessments (a*df in
                 full homomorphically, else pending a pro-rata proof), uncovered.
    dm-shares    a verified pro-rata allocation: tranche 4 debits df_j by C_c_j;
                 assessments create payables due_j = m*df_j + C_c_j (m = the
                 whole multiples of D0 in the assessed amount); the rounding
                 residual Sum - R is absorbed by the CCP.
    assessment-pay  a tagged deposit d settles due_j: cash += d*G - C_due.
    assessment-settle  due_j is paid from hidden cash: cash -= C_due (with a
                 margin proof on the result); nothing public moves.

    Bookkeeping (all public ints): ``flows.charges`` is the net amount moved
    from member commitments into the CCP's public books, with an outstanding
    payable counted as already moved; so at all times
        sum_j (cash_j + df_j - due_j) = G*(deposits - withdrawals - charges)
        auction_cash + default_account   = charges + ccp_capital.
    """
    kind = body["kind"]
    books = state.books
    if kind == "dm-open":
        state.dm = {
            "index": len(state.reports), "cycle": body["cycle"], "open_seq": seq,
            "defaulters": list(body["defaulters"]), "survivors": list(body["survivors"]), "D0": body["D0"],
            "disclosed": {m: disclosed_values(state.members[m], body["disclosures"][m]["values"])
                          for m in body["defaulters"]}, "stage": "disclosed",
            "proofs": {"disclosure": sha256(canonical(body["disclosures"])).hex(),
                       "D0": sha256(bytes.fromhex(body["D0_proof"])).hex()},
        }
        state.dm_snapshot = {m: state.members[m].df for m in body["survivors"]}
        state.pending_defaults = []
        return
    ev = state.dm
    if kind == "dm-closeout":
        mults = [i["multiplier"] for i in state.config["instruments"]]
        c, P = body["prices"], state.prices
        rows = []
        for m in ev["defaulters"]:
            d = ev["disclosed"][m]
            a = state.members[m]
            X = closeout_loss(c, P, mults, d["pos"])
            u = d.get("due", 0)
            t = own_resources(X, d["cash"], d["df"], u)
            for i, q in enumerate(d["pos"]):
                a.pos[i] = a.pos[i] - alg.public(q)  # to the house, as a public position
            # close-out: the defaulter pays X (to the auction book; member winners' share below)
            a.cash = a.cash - alg.public(X)
            books["auction_cash"] += X
            state.flows["charges"] += X
            # an unpaid assessment: the payable is cleared against the defaulter's cash
            if a.due is not None:
                a.cash = a.cash - a.due  # value u: keeps sum(cash + df - due) and its blinding
                a.due = None
            # tranche 2: own df to cash; the residual R2 is taken over by the default account
            a.df = a.df - alg.public(t.defaulter_default_fund)
            a.cash = a.cash + alg.public(t.defaulter_default_fund) + alg.public(t.residual)
            books["default_account"] -= t.residual
            state.flows["charges"] -= t.residual
            cash_left = d["cash"] - X - u + t.defaulter_default_fund + t.residual
            df_left = d["df"] - t.defaulter_default_fund
            if cash_left < 0 or cash_left + df_left != t.estate_surplus:
                raise LedgerCorrupted(f"defaulter {m}: tranches 1-2 do not add up")
            # the estate surplus is released (a public withdrawal)
            a.cash = a.cash - alg.public(cash_left)
            a.df = a.df - alg.public(df_left)
            state.flows["withdrawals"] += cash_left + df_left
            a.version = seq
            rows.append({"member": m, "cash": d["cash"], "df": d["df"], "positions": list(d["pos"]), "X": X,
                         "unpaid_vm": max(0, -d["cash"]), "unpaid_assessment": u, "loss": t.loss,
                         "defaulter_margin": t.defaulter_margin,
                         "defaulter_default_fund": t.defaulter_default_fund, "residual": t.residual,
                         "estate_surplus": t.estate_surplus})
        # the auction result: public lots novated to the winners at c, each
        # winner's VM booked from c to the last settlement P; the house is flat
        for lot in body["lots"]:
            i = state.instrument_index(lot["instrument"])
            q = lot["quantity"]
            if lot["winner"] == AUCTION:
                books["auction_pos"][i] += q
                continue
            w = state.members[lot["winner"]]
            lot_vm = (P[i] - c[i]) * mults[i] * q
            w.pos[i] = w.pos[i] + alg.public(q)
            w.cash = w.cash + alg.public(lot_vm)
            books["auction_cash"] -= lot_vm
            state.flows["charges"] -= lot_vm
            w.trades[i] += 1
            w.version = seq
        R = sum(r["residual"] for r in rows)
        D0 = ev["D0"]
        cap = state.config["ccp"]["assessment_cap_multiple"]
        # The public sizes of tranches 3-6 come from clearing.ccp.rules.mutual_tranches on
        # the survivors' *total* D0 as one contribution: every public amount (SITG 1 and 2,
        # the tranche-4 and tranche-6 totals before rounding, "in full"/"capped", the
        # uncovered loss) depends on the contributions only through D0.  The per-survivor
        # split and its rounding residual come from the pro-rata proofs (dm-shares).
        mw = mutual_tranches(R, D0, books["sitg1"], books["sitg2"], cap)
        sitg1_before, sitg2_before = books["sitg1"], books["sitg2"]
        books["sitg1"] -= mw.skin_in_the_game_1
        books["sitg2"] -= mw.skin_in_the_game_2
        capital = mw.skin_in_the_game_1 + mw.skin_in_the_game_2
        books["ccp_capital"] += capital
        books["default_account"] += capital
        ev.update(stage="closed-out", prices=list(c), lots=[dict(lot) for lot in body["lots"]], rows=rows, R=R,
                  need={}, k4=0, k6=0,
                  sitg1=[sitg1_before, books["sitg1"]], sitg2=[sitg2_before, books["sitg2"]],
                  tranches={"defaulter_margin": sum(r["defaulter_margin"] for r in rows),
                            "defaulter_default_fund": sum(r["defaulter_default_fund"] for r in rows),
                            "skin_in_the_game_1": mw.skin_in_the_game_1, "survivors_default_fund": 0,
                            "skin_in_the_game_2": mw.skin_in_the_game_2, "assessments": 0},
                  df_in_full=mw.default_fund_in_full, capped=mw.assessments_capped,
                  uncovered=mw.uncovered_loss, assess_multiple=0)
        rem4 = R - mw.skin_in_the_game_1
        if D0 and mw.default_fund_in_full:
            for m in ev["survivors"]:
                a = state.members[m]
                a.df = a.df - state.dm_snapshot[m]
                a.version = seq
            _book_charge(state, D0)
            _move_residue(state, alg, [state.dm_snapshot[m] for m in ev["survivors"]], D0, 1)
            ev["tranches"]["survivors_default_fund"] = D0
        elif D0 and rem4 > 0:
            ev["need"]["default-fund"] = rem4
        if D0 and mw.assessments_capped and cap:
            for m in ev["survivors"]:
                _add_due(state, m, alg.lincomb([state.dm_snapshot[m]], [cap]), seq, alg)
            _book_charge(state, cap * D0)
            _move_residue(state, alg, [state.dm_snapshot[m] for m in ev["survivors"]], D0, cap)
            ev["tranches"]["assessments"] = cap * D0
        elif D0 and not mw.assessments_capped:
            rem6 = mw.assessments  # the single-contribution run has no rounding
            whole, part = divmod(rem6, D0)
            ev["assess_multiple"] = whole
            if whole:
                for m in ev["survivors"]:
                    _add_due(state, m, alg.lincomb([state.dm_snapshot[m]], [whole]), seq, alg)
                _book_charge(state, whole * D0)
                _move_residue(state, alg, [state.dm_snapshot[m] for m in ev["survivors"]], D0, whole)
                ev["tranches"]["assessments"] = whole * D0
            if part:
                ev["need"]["assessment"] = part
        _finish_if_done(state)
        return
    if kind == "dm-shares":
        purpose, Rp, total = body["purpose"], body["R"], body["total"]
        shares = [alg.commitment(h, "pro-rata share") for h in body["shares"]]
        for m, cj in zip(ev["survivors"], shares):
            a = state.members[m]
            if purpose == "default-fund":
                a.df = a.df - cj
            else:
                _add_due(state, m, cj, seq, alg)
            a.version = seq
        _book_charge(state, total)
        _move_residue(state, alg, shares, total, 1)
        k = Rp - total
        books["ccp_capital"] += k
        books["default_account"] += k
        if purpose == "default-fund":
            ev["tranches"]["survivors_default_fund"] += total
            ev["k4"] = k
        else:
            ev["tranches"]["assessments"] += total
            ev["k6"] = k
        ev["proofs"][purpose] = sha256(bytes.fromhex(body["proof"]) + bytes.fromhex(body["total_proof"])).hex()
        del ev["need"][purpose]
        _finish_if_done(state)
        return
    if kind == "assessment-pay":
        a = state.members[body["member"]]
        a.cash = a.cash + alg.public(body["amount"]) - a.due
        a.due = None
        a.version = seq
        state.flows["deposits"] += body["amount"]
        return
    if kind == "assessment-settle":
        a = state.members[body["member"]]
        a.cash = a.cash - a.due  # paid from hidden cash: sum(cash + df - due) is unchanged
        a.due = None
        a.version = seq
        return


def _book_charge(state: State, amount: int) -> None:
    """``amount`` moves from member commitments to the default account."""
    state.books["default_account"] += amount
    state.flows["charges"] += amount


def _move_residue(state: State, alg, commitments, opened_total: int, k: int) -> None:
    """k * (sum of ``commitments`` - opened_total*G) joins the residue.

    Used whenever committed amounts whose sum was opened in public (D0 by the
    snapshot's aggregate opening, a pro-rata total by its own) move into the
    public books: the term commits to zero (that is what the opening proved)
    and carries the moved commitments' blindings, so the conservation
    invariant keeps holding on commitments."""
    moved = alg.lincomb(list(commitments) + [alg.public(1)], [k] * len(commitments) + [-k * opened_total])
    state.residue = moved if state.residue is None else state.residue + moved


def _add_due(state: State, member: str, value, seq: int, alg) -> None:
    a = state.members[member]
    a.due = value if a.due is None else a.due + value
    a.version = seq


def _finish_if_done(state: State) -> None:
    ev = state.dm
    if ev["need"]:
        return
    tr = ev["tranches"]
    loss = sum(r["loss"] for r in ev["rows"])
    residual = ev["k4"] + ev["k6"]
    if loss != sum(tr.values()) + residual + ev["uncovered"]:
        raise LedgerCorrupted(f"default event {ev['index']}: the waterfall does not add up")
    report = {
        "index": ev["index"], "cycle": ev["cycle"], "defaulters": ev["rows"], "survivors": ev["survivors"],
        "D0": ev["D0"], "loss": loss, "R": ev["R"], "close_out_prices": ev["prices"], "lots": ev["lots"],
        "waterfall": [{"tranche": n, "amount": tr[n]} for n in TRANCHE_NAMES],
        "survivors_default_fund_in_full": ev["df_in_full"], "assessments_capped": ev["capped"],
        "default_fund_residual": ev["k4"], "assessment_residual": ev["k6"], "rounding_residual": residual,
        "uncovered_loss": ev["uncovered"], "liquidity_line": sum(r["unpaid_vm"] for r in ev["rows"]),
        "skin_in_the_game_1_before": ev["sitg1"][0], "skin_in_the_game_1_after": ev["sitg1"][1],
        "skin_in_the_game_2_before": ev["sitg2"][0], "skin_in_the_game_2_after": ev["sitg2"][1],
        "disclosure_policy": "individual" if len(ev["survivors"]) < 3 else "aggregate",
        "proofs": dict(ev["proofs"]),
    }
    state.reports.append(report)
    state.dm = None
    state.dm_snapshot = {}
