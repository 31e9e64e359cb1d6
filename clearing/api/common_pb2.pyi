from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    SIDE_BUY: _ClassVar[Side]
    SIDE_SELL: _ClassVar[Side]
SIDE_UNSPECIFIED: Side
SIDE_BUY: Side
SIDE_SELL: Side

class Trade(_message.Message):
    __slots__ = ("trade_id", "cycle", "buyer", "seller", "instrument", "side", "price", "commitment")
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    SELLER_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    trade_id: str
    cycle: int
    buyer: str
    seller: str
    instrument: str
    side: Side
    price: int
    commitment: bytes
    def __init__(self, trade_id: _Optional[str] = ..., cycle: _Optional[int] = ..., buyer: _Optional[str] = ..., seller: _Optional[str] = ..., instrument: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., price: _Optional[int] = ..., commitment: _Optional[bytes] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("seq",)
    SEQ_FIELD_NUMBER: _ClassVar[int]
    seq: int
    def __init__(self, seq: _Optional[int] = ...) -> None: ...

class MemberRequest(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: str
    def __init__(self, member: _Optional[str] = ...) -> None: ...

class CycleRequest(_message.Message):
    __slots__ = ("request_id", "cycle")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    cycle: int
    def __init__(self, request_id: _Optional[str] = ..., cycle: _Optional[int] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("member", "cash", "df", "positions", "due", "status", "version", "funded")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    CASH_FIELD_NUMBER: _ClassVar[int]
    DF_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    DUE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FUNDED_FIELD_NUMBER: _ClassVar[int]
    member: str
    cash: bytes
    df: bytes
    positions: _containers.RepeatedScalarFieldContainer[bytes]
    due: bytes
    status: str
    version: int
    funded: bool
    def __init__(self, member: _Optional[str] = ..., cash: _Optional[bytes] = ..., df: _Optional[bytes] = ..., positions: _Optional[_Iterable[bytes]] = ..., due: _Optional[bytes] = ..., status: _Optional[str] = ..., version: _Optional[int] = ..., funded: _Optional[bool] = ...) -> None: ...

class MarginEntry(_message.Message):
    __slots__ = ("member", "solvency_only", "ctx_seq", "proof", "headroom", "headroom_proof")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    SOLVENCY_ONLY_FIELD_NUMBER: _ClassVar[int]
    CTX_SEQ_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    HEADROOM_FIELD_NUMBER: _ClassVar[int]
    HEADROOM_PROOF_FIELD_NUMBER: _ClassVar[int]
    member: str
    solvency_only: bool
    ctx_seq: int
    proof: bytes
    headroom: bytes
    headroom_proof: bytes
    def __init__(self, member: _Optional[str] = ..., solvency_only: _Optional[bool] = ..., ctx_seq: _Optional[int] = ..., proof: _Optional[bytes] = ..., headroom: _Optional[bytes] = ..., headroom_proof: _Optional[bytes] = ...) -> None: ...

class MarginBatch(_message.Message):
    __slots__ = ("cycle", "entries", "signature")
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    cycle: int
    entries: _containers.RepeatedCompositeFieldContainer[MarginEntry]
    signature: bytes
    def __init__(self, cycle: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[MarginEntry, _Mapping]]] = ..., signature: _Optional[bytes] = ...) -> None: ...

class MarginResults(_message.Message):
    __slots__ = ("seq", "results")
    class ResultsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SEQ_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    seq: int
    results: _containers.ScalarMap[str, str]
    def __init__(self, seq: _Optional[int] = ..., results: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Disclosure(_message.Message):
    __slots__ = ("member", "values", "proof")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    member: str
    values: _containers.RepeatedScalarFieldContainer[str]
    proof: bytes
    def __init__(self, member: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ..., proof: _Optional[bytes] = ...) -> None: ...

class DefaultOpen(_message.Message):
    __slots__ = ("cycle", "defaulters", "survivors", "d0", "d0_proof", "disclosures", "signature")
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    DEFAULTERS_FIELD_NUMBER: _ClassVar[int]
    SURVIVORS_FIELD_NUMBER: _ClassVar[int]
    D0_FIELD_NUMBER: _ClassVar[int]
    D0_PROOF_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURES_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    cycle: int
    defaulters: _containers.RepeatedScalarFieldContainer[str]
    survivors: _containers.RepeatedScalarFieldContainer[str]
    d0: str
    d0_proof: bytes
    disclosures: _containers.RepeatedCompositeFieldContainer[Disclosure]
    signature: bytes
    def __init__(self, cycle: _Optional[int] = ..., defaulters: _Optional[_Iterable[str]] = ..., survivors: _Optional[_Iterable[str]] = ..., d0: _Optional[str] = ..., d0_proof: _Optional[bytes] = ..., disclosures: _Optional[_Iterable[_Union[Disclosure, _Mapping]]] = ..., signature: _Optional[bytes] = ...) -> None: ...

class DefaultShares(_message.Message):
    __slots__ = ("cycle", "index", "purpose", "r", "shares", "total", "proof", "total_proof", "signature")
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    R_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PROOF_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    cycle: int
    index: int
    purpose: str
    r: str
    shares: _containers.RepeatedScalarFieldContainer[bytes]
    total: str
    proof: bytes
    total_proof: bytes
    signature: bytes
    def __init__(self, cycle: _Optional[int] = ..., index: _Optional[int] = ..., purpose: _Optional[str] = ..., r: _Optional[str] = ..., shares: _Optional[_Iterable[bytes]] = ..., total: _Optional[str] = ..., proof: _Optional[bytes] = ..., total_proof: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class EpochTotal(_message.Message):
    __slots__ = ("cycle", "epoch", "members", "d", "proof", "signature")
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    D_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    cycle: int
    epoch: int
    members: _containers.RepeatedScalarFieldContainer[str]
    d: str
    proof: bytes
    signature: bytes
    def __init__(self, cycle: _Optional[int] = ..., epoch: _Optional[int] = ..., members: _Optional[_Iterable[str]] = ..., d: _Optional[str] = ..., proof: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class CureProof(_message.Message):
    __slots__ = ("cycle", "member", "solvency_only", "ctx_seq", "proof", "signature")
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    SOLVENCY_ONLY_FIELD_NUMBER: _ClassVar[int]
    CTX_SEQ_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    cycle: int
    member: str
    solvency_only: bool
    ctx_seq: int
    proof: bytes
    signature: bytes
    def __init__(self, cycle: _Optional[int] = ..., member: _Optional[str] = ..., solvency_only: _Optional[bool] = ..., ctx_seq: _Optional[int] = ..., proof: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...
