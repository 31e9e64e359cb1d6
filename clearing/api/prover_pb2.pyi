from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PushOpeningRequest(_message.Message):
    __slots__ = ("trade_id", "sealed")
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    trade_id: str
    sealed: bytes
    def __init__(self, trade_id: _Optional[str] = ..., sealed: _Optional[bytes] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("trade_id", "signature", "h_buyer", "h_seller", "headroom_proof", "refused", "refusal_signature")
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    H_BUYER_FIELD_NUMBER: _ClassVar[int]
    H_SELLER_FIELD_NUMBER: _ClassVar[int]
    HEADROOM_PROOF_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    trade_id: str
    signature: bytes
    h_buyer: bytes
    h_seller: bytes
    headroom_proof: bytes
    refused: _containers.RepeatedScalarFieldContainer[str]
    refusal_signature: bytes
    def __init__(self, trade_id: _Optional[str] = ..., signature: _Optional[bytes] = ..., h_buyer: _Optional[bytes] = ..., h_seller: _Optional[bytes] = ..., headroom_proof: _Optional[bytes] = ..., refused: _Optional[_Iterable[str]] = ..., refusal_signature: _Optional[bytes] = ...) -> None: ...

class PrepareFundingRequest(_message.Message):
    __slots__ = ("request_id", "member", "amount")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    amount: int
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class PreparedFunding(_message.Message):
    __slots__ = ("df",)
    DF_FIELD_NUMBER: _ClassVar[int]
    df: bytes
    def __init__(self, df: _Optional[bytes] = ...) -> None: ...

class ProveFundingRequest(_message.Message):
    __slots__ = ("request_id", "member", "df", "epoch", "signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    DF_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    df: bytes
    epoch: int
    signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ..., df: _Optional[bytes] = ..., epoch: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class ProveSizingRequest(_message.Message):
    __slots__ = ("request_id", "member", "epoch", "signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    epoch: int
    signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ..., epoch: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class SizingFiling(_message.Message):
    __slots__ = ("ctx_seq", "m", "q", "bound_proof", "sizing_proof", "cover2_proof")
    CTX_SEQ_FIELD_NUMBER: _ClassVar[int]
    M_FIELD_NUMBER: _ClassVar[int]
    Q_FIELD_NUMBER: _ClassVar[int]
    BOUND_PROOF_FIELD_NUMBER: _ClassVar[int]
    SIZING_PROOF_FIELD_NUMBER: _ClassVar[int]
    COVER2_PROOF_FIELD_NUMBER: _ClassVar[int]
    ctx_seq: int
    m: bytes
    q: bytes
    bound_proof: bytes
    sizing_proof: bytes
    cover2_proof: bytes
    def __init__(self, ctx_seq: _Optional[int] = ..., m: _Optional[bytes] = ..., q: _Optional[bytes] = ..., bound_proof: _Optional[bytes] = ..., sizing_proof: _Optional[bytes] = ..., cover2_proof: _Optional[bytes] = ...) -> None: ...

class ProveWithdrawalRequest(_message.Message):
    __slots__ = ("request_id", "member", "amount", "cycle", "signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    amount: int
    cycle: int
    signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ..., amount: _Optional[int] = ..., cycle: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class ProveAssessmentRequest(_message.Message):
    __slots__ = ("request_id", "member", "index", "amount", "cycle", "signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    index: int
    amount: int
    cycle: int
    signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ..., index: _Optional[int] = ..., amount: _Optional[int] = ..., cycle: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class ProveAssessmentFromCashRequest(_message.Message):
    __slots__ = ("request_id", "member", "index", "cycle", "signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    index: int
    cycle: int
    signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ..., index: _Optional[int] = ..., cycle: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class MemberProof(_message.Message):
    __slots__ = ("ctx_seq", "proof")
    CTX_SEQ_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    ctx_seq: int
    proof: bytes
    def __init__(self, ctx_seq: _Optional[int] = ..., proof: _Optional[bytes] = ...) -> None: ...

class ProveMarginRequest(_message.Message):
    __slots__ = ("cycle",)
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    cycle: int
    def __init__(self, cycle: _Optional[int] = ...) -> None: ...

class ProveIntradayRequest(_message.Message):
    __slots__ = ("cycle", "run")
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    cycle: int
    run: int
    def __init__(self, cycle: _Optional[int] = ..., run: _Optional[int] = ...) -> None: ...

class ProveEpochTotalRequest(_message.Message):
    __slots__ = ("cycle",)
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    cycle: int
    def __init__(self, cycle: _Optional[int] = ...) -> None: ...

class ProveDefaultOpenRequest(_message.Message):
    __slots__ = ("cycle",)
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    cycle: int
    def __init__(self, cycle: _Optional[int] = ...) -> None: ...

class ProveDefaultSharesRequest(_message.Message):
    __slots__ = ("purpose",)
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    purpose: str
    def __init__(self, purpose: _Optional[str] = ...) -> None: ...

class Balances(_message.Message):
    __slots__ = ("member", "cash", "df", "positions", "due", "headroom")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    CASH_FIELD_NUMBER: _ClassVar[int]
    DF_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    DUE_FIELD_NUMBER: _ClassVar[int]
    HEADROOM_FIELD_NUMBER: _ClassVar[int]
    member: str
    cash: str
    df: str
    positions: _containers.RepeatedScalarFieldContainer[str]
    due: str
    headroom: str
    def __init__(self, member: _Optional[str] = ..., cash: _Optional[str] = ..., df: _Optional[str] = ..., positions: _Optional[_Iterable[str]] = ..., due: _Optional[str] = ..., headroom: _Optional[str] = ...) -> None: ...

class ProverStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProverStatus(_message.Message):
    __slots__ = ("seq", "alarm", "alarm_reason")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    ALARM_REASON_FIELD_NUMBER: _ClassVar[int]
    seq: int
    alarm: bool
    alarm_reason: str
    def __init__(self, seq: _Optional[int] = ..., alarm: _Optional[bool] = ..., alarm_reason: _Optional[str] = ...) -> None: ...

class PrepareTradeRequest(_message.Message):
    __slots__ = ("request_id", "member", "trade_id", "cycle", "counterparty", "instrument", "side", "price", "quantity")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    trade_id: str
    cycle: int
    counterparty: str
    instrument: str
    side: _common_pb2.Side
    price: int
    quantity: int
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ..., trade_id: _Optional[str] = ..., cycle: _Optional[int] = ..., counterparty: _Optional[str] = ..., instrument: _Optional[str] = ..., side: _Optional[_Union[_common_pb2.Side, str]] = ..., price: _Optional[int] = ..., quantity: _Optional[int] = ...) -> None: ...

class PreparedTrade(_message.Message):
    __slots__ = ("trade", "proof", "sealed_counterparty", "sealed_prover", "trade_tuple")
    TRADE_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    SEALED_COUNTERPARTY_FIELD_NUMBER: _ClassVar[int]
    SEALED_PROVER_FIELD_NUMBER: _ClassVar[int]
    TRADE_TUPLE_FIELD_NUMBER: _ClassVar[int]
    trade: _common_pb2.Trade
    proof: bytes
    sealed_counterparty: bytes
    sealed_prover: bytes
    trade_tuple: bytes
    def __init__(self, trade: _Optional[_Union[_common_pb2.Trade, _Mapping]] = ..., proof: _Optional[bytes] = ..., sealed_counterparty: _Optional[bytes] = ..., sealed_prover: _Optional[bytes] = ..., trade_tuple: _Optional[bytes] = ...) -> None: ...

class CheckAffirmationRequest(_message.Message):
    __slots__ = ("member", "trade_id")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    member: str
    trade_id: str
    def __init__(self, member: _Optional[str] = ..., trade_id: _Optional[str] = ...) -> None: ...

class CheckedAffirmation(_message.Message):
    __slots__ = ("trade", "quantity", "affirmation_tuple")
    TRADE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AFFIRMATION_TUPLE_FIELD_NUMBER: _ClassVar[int]
    trade: _common_pb2.Trade
    quantity: int
    affirmation_tuple: bytes
    def __init__(self, trade: _Optional[_Union[_common_pb2.Trade, _Mapping]] = ..., quantity: _Optional[int] = ..., affirmation_tuple: _Optional[bytes] = ...) -> None: ...
