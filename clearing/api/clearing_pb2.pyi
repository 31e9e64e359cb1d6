from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterRequest(_message.Message):
    __slots__ = ("request_id", "member", "identity_key", "relay_key", "relay_signature", "operator_signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    RELAY_KEY_FIELD_NUMBER: _ClassVar[int]
    RELAY_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    identity_key: bytes
    relay_key: bytes
    relay_signature: bytes
    operator_signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ..., identity_key: _Optional[bytes] = ..., relay_key: _Optional[bytes] = ..., relay_signature: _Optional[bytes] = ..., operator_signature: _Optional[bytes] = ...) -> None: ...

class SubmitTradeRequest(_message.Message):
    __slots__ = ("request_id", "trade", "proof", "signature", "sealed_counterparty", "sealed_prover")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TRADE_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SEALED_COUNTERPARTY_FIELD_NUMBER: _ClassVar[int]
    SEALED_PROVER_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    trade: _common_pb2.Trade
    proof: bytes
    signature: bytes
    sealed_counterparty: bytes
    sealed_prover: bytes
    def __init__(self, request_id: _Optional[str] = ..., trade: _Optional[_Union[_common_pb2.Trade, _Mapping]] = ..., proof: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., sealed_counterparty: _Optional[bytes] = ..., sealed_prover: _Optional[bytes] = ...) -> None: ...

class TradeStatus(_message.Message):
    __slots__ = ("seq", "trade", "status", "pretrade_refused")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TRADE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRETRADE_REFUSED_FIELD_NUMBER: _ClassVar[int]
    seq: int
    trade: _common_pb2.Trade
    status: str
    pretrade_refused: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, seq: _Optional[int] = ..., trade: _Optional[_Union[_common_pb2.Trade, _Mapping]] = ..., status: _Optional[str] = ..., pretrade_refused: _Optional[_Iterable[str]] = ...) -> None: ...

class AffirmTradeRequest(_message.Message):
    __slots__ = ("request_id", "trade_id", "member", "signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    trade_id: str
    member: str
    signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., trade_id: _Optional[str] = ..., member: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class GetTradeRequest(_message.Message):
    __slots__ = ("trade_id",)
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    trade_id: str
    def __init__(self, trade_id: _Optional[str] = ...) -> None: ...

class RetryTradeRequest(_message.Message):
    __slots__ = ("trade_id", "member")
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    trade_id: str
    member: str
    def __init__(self, trade_id: _Optional[str] = ..., member: _Optional[str] = ...) -> None: ...

class PendingTrade(_message.Message):
    __slots__ = ("trade", "sealed_opening")
    TRADE_FIELD_NUMBER: _ClassVar[int]
    SEALED_OPENING_FIELD_NUMBER: _ClassVar[int]
    trade: _common_pb2.Trade
    sealed_opening: bytes
    def __init__(self, trade: _Optional[_Union[_common_pb2.Trade, _Mapping]] = ..., sealed_opening: _Optional[bytes] = ...) -> None: ...

class DepositRequest(_message.Message):
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

class FundDefaultRequest(_message.Message):
    __slots__ = ("request_id", "member", "df", "epoch", "ctx_seq", "proof", "signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    DF_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    CTX_SEQ_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    df: bytes
    epoch: int
    ctx_seq: int
    proof: bytes
    signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ..., df: _Optional[bytes] = ..., epoch: _Optional[int] = ..., ctx_seq: _Optional[int] = ..., proof: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class FileSizingRequest(_message.Message):
    __slots__ = ("request_id", "member", "epoch", "ctx_seq", "m", "q", "bound_proof", "sizing_proof", "cover2_proof", "signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    CTX_SEQ_FIELD_NUMBER: _ClassVar[int]
    M_FIELD_NUMBER: _ClassVar[int]
    Q_FIELD_NUMBER: _ClassVar[int]
    BOUND_PROOF_FIELD_NUMBER: _ClassVar[int]
    SIZING_PROOF_FIELD_NUMBER: _ClassVar[int]
    COVER2_PROOF_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    epoch: int
    ctx_seq: int
    m: bytes
    q: bytes
    bound_proof: bytes
    sizing_proof: bytes
    cover2_proof: bytes
    signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ..., epoch: _Optional[int] = ..., ctx_seq: _Optional[int] = ..., m: _Optional[bytes] = ..., q: _Optional[bytes] = ..., bound_proof: _Optional[bytes] = ..., sizing_proof: _Optional[bytes] = ..., cover2_proof: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Cover2ReportRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Cover2Window(_message.Message):
    __slots__ = ("epoch", "cycle", "required", "total", "met", "shortfall")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    MET_FIELD_NUMBER: _ClassVar[int]
    SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    cycle: int
    required: int
    total: int
    met: bool
    shortfall: int
    def __init__(self, epoch: _Optional[int] = ..., cycle: _Optional[int] = ..., required: _Optional[int] = ..., total: _Optional[int] = ..., met: _Optional[bool] = ..., shortfall: _Optional[int] = ...) -> None: ...

class Cover2Report(_message.Message):
    __slots__ = ("windows",)
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    windows: _containers.RepeatedCompositeFieldContainer[Cover2Window]
    def __init__(self, windows: _Optional[_Iterable[_Union[Cover2Window, _Mapping]]] = ...) -> None: ...

class WithdrawRequest(_message.Message):
    __slots__ = ("request_id", "member", "amount", "cycle", "ctx_seq", "proof", "signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    CTX_SEQ_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    amount: int
    cycle: int
    ctx_seq: int
    proof: bytes
    signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ..., amount: _Optional[int] = ..., cycle: _Optional[int] = ..., ctx_seq: _Optional[int] = ..., proof: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class PayAssessmentRequest(_message.Message):
    __slots__ = ("request_id", "member", "index", "amount", "cycle", "ctx_seq", "proof", "signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    CTX_SEQ_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    index: int
    amount: int
    cycle: int
    ctx_seq: int
    proof: bytes
    signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ..., index: _Optional[int] = ..., amount: _Optional[int] = ..., cycle: _Optional[int] = ..., ctx_seq: _Optional[int] = ..., proof: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class SettleAssessmentRequest(_message.Message):
    __slots__ = ("request_id", "member", "index", "cycle", "ctx_seq", "proof", "signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    CTX_SEQ_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    index: int
    cycle: int
    ctx_seq: int
    proof: bytes
    signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ..., index: _Optional[int] = ..., cycle: _Optional[int] = ..., ctx_seq: _Optional[int] = ..., proof: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class CureRequest(_message.Message):
    __slots__ = ("request_id", "member")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member: str
    def __init__(self, request_id: _Optional[str] = ..., member: _Optional[str] = ...) -> None: ...

class LedgerStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Instrument(_message.Message):
    __slots__ = ("id", "multiplier", "tick", "price0")
    ID_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    TICK_FIELD_NUMBER: _ClassVar[int]
    PRICE0_FIELD_NUMBER: _ClassVar[int]
    id: str
    multiplier: int
    tick: int
    price0: int
    def __init__(self, id: _Optional[str] = ..., multiplier: _Optional[int] = ..., tick: _Optional[int] = ..., price0: _Optional[int] = ...) -> None: ...

class LedgerStatus(_message.Message):
    __slots__ = ("seq", "head", "cycle", "phase", "members", "instruments", "prices", "state_hash", "digests", "cycle_seq", "epoch", "scenario_set_id", "intraday_run")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    STATE_HASH_FIELD_NUMBER: _ClassVar[int]
    DIGESTS_FIELD_NUMBER: _ClassVar[int]
    CYCLE_SEQ_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_SET_ID_FIELD_NUMBER: _ClassVar[int]
    INTRADAY_RUN_FIELD_NUMBER: _ClassVar[int]
    seq: int
    head: bytes
    cycle: int
    phase: str
    members: _containers.RepeatedScalarFieldContainer[str]
    instruments: _containers.RepeatedCompositeFieldContainer[Instrument]
    prices: _containers.RepeatedScalarFieldContainer[int]
    state_hash: bytes
    digests: _containers.RepeatedScalarFieldContainer[bytes]
    cycle_seq: int
    epoch: int
    scenario_set_id: bytes
    intraday_run: int
    def __init__(self, seq: _Optional[int] = ..., head: _Optional[bytes] = ..., cycle: _Optional[int] = ..., phase: _Optional[str] = ..., members: _Optional[_Iterable[str]] = ..., instruments: _Optional[_Iterable[_Union[Instrument, _Mapping]]] = ..., prices: _Optional[_Iterable[int]] = ..., state_hash: _Optional[bytes] = ..., digests: _Optional[_Iterable[bytes]] = ..., cycle_seq: _Optional[int] = ..., epoch: _Optional[int] = ..., scenario_set_id: _Optional[bytes] = ..., intraday_run: _Optional[int] = ...) -> None: ...

class StreamLedgerRequest(_message.Message):
    __slots__ = ("since",)
    SINCE_FIELD_NUMBER: _ClassVar[int]
    since: int
    def __init__(self, since: _Optional[int] = ...) -> None: ...

class LedgerEvent(_message.Message):
    __slots__ = ("seq", "body", "chain_hash")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CHAIN_HASH_FIELD_NUMBER: _ClassVar[int]
    seq: int
    body: bytes
    chain_hash: bytes
    def __init__(self, seq: _Optional[int] = ..., body: _Optional[bytes] = ..., chain_hash: _Optional[bytes] = ...) -> None: ...
