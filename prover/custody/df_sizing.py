"""The prover's side of default-fund sizing and Cover-2 (issue 14 §4):
for a member-signed request (:func:`clearing.protocol.df_sizing.df_size_message`)
in the current funding window, after the member's ``df-fund``, make the
:class:`~clearing.protocol.df_sizing.SizingFiling`: the bound m = the
member's requirement under the current margin set (no-move row alone before
the first set), q = ceil(f*m), both committed with fresh blindings, the
DfBound / DfSizing proofs, and the Cover-2 proof over the post-funding cash.
Refused (naming no secret) when the contribution is below f*m or the stress
loss beyond cash exceeds tau: the member must re-file a larger contribution
in a later window, or deposit -- the window stays open until it files."""
from __future__ import annotations

from typing import TYPE_CHECKING

from clearing.protocol.df_sizing import (
    SizingFiling,
    bound_statement,
    cover2_of,
    cover2_statement,
    df_size_message,
    enabled,
    sizing_of,
    sizing_statement,
)
from clearing.protocol.fields import STATUS_ACTIVE
from prover.df_sizing import prove_cover2, prove_sizing
from zkp.errors import ProvingError
from zkp.generators import generators

if TYPE_CHECKING:
    from prover.custody.witness import WitnessStore


def window_unsized(state, members) -> list[str]:
    """Members of the window that have not filed their sizing yet (none
    when the ccp asks for no sizing): the window total is not opened before."""
    if not enabled(state.cfg()["ccp"]):
        return []
    sized = set(state.books.get("sized", []))
    return [m for m in members if m not in sized]


def prove_df_size(store: WitnessStore, member: str, epoch: int, request_id: str, sig: bytes,
                  public_account: dict) -> SizingFiling:
    from prover.custody.witness import Refused

    s = store.state
    ccp = s.cfg()["ccp"]
    if not enabled(ccp):
        raise Refused("the CCP parameters ask for no sizing filing")
    store._member_sig(member, df_size_message(member, epoch, request_id), sig)
    store.check(member, public_account)
    a = s.account(member)
    if a.status != STATUS_ACTIVE or epoch != s.epoch or not a.funded:
        raise Refused("sizing is filed in the current window by an active member after its contribution")
    gens = generators()
    cash, pos = store._commitments(a)
    df = gens.commit(a.df.value, a.df.blinding)
    cycle, version = s.cycle, a.version
    m = q = bound_proof = sizing_proof = cover2_proof = b""
    fraction, cover2 = sizing_of(ccp), cover2_of(ccp)
    try:
        if fraction is not None:
            placeholder = bound_statement(cycle, version, member, gens.G, pos, s.scenario_set)
            sp = prove_sizing(placeholder, a.pos, a.df, *fraction,
                              lambda cm, cq: sizing_statement(cycle, version, member, df, cm, cq, epoch, fraction),
                              rng=store._rng)
            m, q = sp.m.encode(), sp.q.encode()
            bound_proof, sizing_proof = sp.bound_proof.to_bytes(), sp.sizing_proof.to_bytes()
        if cover2 is not None:
            st = cover2_statement(cycle, version, member, cash, pos, cover2)
            cover2_proof = prove_cover2(st, a.cash, a.pos, rng=store._rng).to_bytes()
    except ProvingError:
        store.log.append(("df-size", member, cycle, "refused: not sized or Cover-2 not met"))
        msg = "the contribution is below the sized minimum, or the stress loss beyond cash exceeds tau"
        raise Refused(msg) from None
    store.log.append(("df-size", member, cycle, "proved"))
    return SizingFiling(member, epoch, version, m, q, bound_proof, sizing_proof, cover2_proof)
