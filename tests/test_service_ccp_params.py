"""AdminService.SetCcpParameters over real gRPC + mutual TLS: the operator
sets the CCP's skin in the game and assessment cap multiple (once per request
id); a participant gets PERMISSION_DENIED and the ledger does not move."""
from __future__ import annotations

import grpc
import pytest

from clearing.api import admin_pb2, admin_pb2_grpc
from clearing.protocol.messages import ccp_parameters_message


def test_operator_sets_ccp_parameters_participant_is_denied(cluster):
    op = cluster.operator()
    ccp = lambda: cluster.clearing.resource.run(  # noqa: E731
        lambda e: (e.state.books["sitg1"], e.state.books["sitg2"], e.state.config["ccp"]["assessment_cap_multiple"]))
    seq = op.set_ccp_parameters(3_000_000, 4_000_000, 5, request_id="params-1")
    assert ccp() == (3_000_000, 4_000_000, 5)
    assert op.set_ccp_parameters(3_000_000, 4_000_000, 5, request_id="params-1") == seq
    assert op.status().seq == seq
    with pytest.raises(grpc.RpcError) as err:
        op.set_ccp_parameters(0, 0, 256, request_id="params-2")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    a = cluster.member("A")
    admin = admin_pb2_grpc.AdminServiceStub(a._channels[0])
    sig = a._sign(ccp_parameters_message(1, 0, 0, 0, "params-3"))
    with pytest.raises(grpc.RpcError) as err:
        admin.SetCcpParameters(admin_pb2.SetCcpParametersRequest(
            request_id="params-3", cycle=1, skin_in_the_game_1=0, skin_in_the_game_2=0, assessment_cap_multiple=0,
            operator_signature=sig), timeout=5)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert op.status().seq == seq and ccp() == (3_000_000, 4_000_000, 5)
