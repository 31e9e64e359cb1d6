from . import clearing_pb2 as _clearing_pb2
from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScenarioSet(_message.Message):
    __slots__ = ("version", "rows", "model", "k", "maintenance_num", "maintenance_den", "penalty_bps", "pretrade")
    class Row(_message.Message):
        __slots__ = ("pnl",)
        PNL_FIELD_NUMBER: _ClassVar[int]
        pnl: _containers.RepeatedScalarFieldContainer[int]
        def __init__(self, pnl: _Optional[_Iterable[int]] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_NUM_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_DEN_FIELD_NUMBER: _ClassVar[int]
    PENALTY_BPS_FIELD_NUMBER: _ClassVar[int]
    PRETRADE_FIELD_NUMBER: _ClassVar[int]
    version: int
    rows: _containers.RepeatedCompositeFieldContainer[ScenarioSet.Row]
    model: str
    k: int
    maintenance_num: int
    maintenance_den: int
    penalty_bps: int
    pretrade: bool
    def __init__(self, version: _Optional[int] = ..., rows: _Optional[_Iterable[_Union[ScenarioSet.Row, _Mapping]]] = ..., model: _Optional[str] = ..., k: _Optional[int] = ..., maintenance_num: _Optional[int] = ..., maintenance_den: _Optional[int] = ..., penalty_bps: _Optional[int] = ..., pretrade: _Optional[bool] = ...) -> None: ...

class SettleRequest(_message.Message):
    __slots__ = ("request_id", "cycle", "prices", "scenario_set", "operator_signature", "staged_rows")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_SET_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    STAGED_ROWS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    cycle: int
    prices: _containers.RepeatedScalarFieldContainer[int]
    scenario_set: ScenarioSet
    operator_signature: bytes
    staged_rows: bool
    def __init__(self, request_id: _Optional[str] = ..., cycle: _Optional[int] = ..., prices: _Optional[_Iterable[int]] = ..., scenario_set: _Optional[_Union[ScenarioSet, _Mapping]] = ..., operator_signature: _Optional[bytes] = ..., staged_rows: _Optional[bool] = ...) -> None: ...

class StageScenarioRowsRequest(_message.Message):
    __slots__ = ("request_id", "cycle", "first_row", "rows", "total_rows")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    FIRST_ROW_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROWS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    cycle: int
    first_row: int
    rows: _containers.RepeatedCompositeFieldContainer[ScenarioSet.Row]
    total_rows: int
    def __init__(self, request_id: _Optional[str] = ..., cycle: _Optional[int] = ..., first_row: _Optional[int] = ..., rows: _Optional[_Iterable[_Union[ScenarioSet.Row, _Mapping]]] = ..., total_rows: _Optional[int] = ...) -> None: ...

class DeclareDefaultRequest(_message.Message):
    __slots__ = ("request_id", "cycle", "member", "operator_signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    cycle: int
    member: str
    operator_signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., cycle: _Optional[int] = ..., member: _Optional[str] = ..., operator_signature: _Optional[bytes] = ...) -> None: ...

class DeclareInsolvencyRequest(_message.Message):
    __slots__ = ("request_id", "cycle", "member", "reason", "operator_signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    cycle: int
    member: str
    reason: str
    operator_signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., cycle: _Optional[int] = ..., member: _Optional[str] = ..., reason: _Optional[str] = ..., operator_signature: _Optional[bytes] = ...) -> None: ...

class IntradayRunRequest(_message.Message):
    __slots__ = ("request_id", "cycle", "run", "marks", "operator_signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    MARKS_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    cycle: int
    run: int
    marks: _containers.RepeatedScalarFieldContainer[int]
    operator_signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., cycle: _Optional[int] = ..., run: _Optional[int] = ..., marks: _Optional[_Iterable[int]] = ..., operator_signature: _Optional[bytes] = ...) -> None: ...

class LiquidateRequest(_message.Message):
    __slots__ = ("request_id", "cycle", "member", "operator_signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    cycle: int
    member: str
    operator_signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., cycle: _Optional[int] = ..., member: _Optional[str] = ..., operator_signature: _Optional[bytes] = ...) -> None: ...

class SetCcpParametersRequest(_message.Message):
    __slots__ = ("request_id", "cycle", "skin_in_the_game_1", "skin_in_the_game_2", "assessment_cap_multiple", "operator_signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    SKIN_IN_THE_GAME_1_FIELD_NUMBER: _ClassVar[int]
    SKIN_IN_THE_GAME_2_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENT_CAP_MULTIPLE_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    cycle: int
    skin_in_the_game_1: int
    skin_in_the_game_2: int
    assessment_cap_multiple: int
    operator_signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., cycle: _Optional[int] = ..., skin_in_the_game_1: _Optional[int] = ..., skin_in_the_game_2: _Optional[int] = ..., assessment_cap_multiple: _Optional[int] = ..., operator_signature: _Optional[bytes] = ...) -> None: ...

class Lot(_message.Message):
    __slots__ = ("winner", "instrument", "quantity")
    WINNER_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    winner: str
    instrument: str
    quantity: int
    def __init__(self, winner: _Optional[str] = ..., instrument: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class CloseOutRequest(_message.Message):
    __slots__ = ("request_id", "cycle", "index", "prices", "operator_signature", "lots")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    cycle: int
    index: int
    prices: _containers.RepeatedScalarFieldContainer[int]
    operator_signature: bytes
    lots: _containers.RepeatedCompositeFieldContainer[Lot]
    def __init__(self, request_id: _Optional[str] = ..., cycle: _Optional[int] = ..., index: _Optional[int] = ..., prices: _Optional[_Iterable[int]] = ..., operator_signature: _Optional[bytes] = ..., lots: _Optional[_Iterable[_Union[Lot, _Mapping]]] = ...) -> None: ...

class DefaultEventRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DisclosedAccount(_message.Message):
    __slots__ = ("member", "cash", "df", "positions")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    CASH_FIELD_NUMBER: _ClassVar[int]
    DF_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    member: str
    cash: str
    df: str
    positions: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, member: _Optional[str] = ..., cash: _Optional[str] = ..., df: _Optional[str] = ..., positions: _Optional[_Iterable[int]] = ...) -> None: ...

class DefaultEventStatus(_message.Message):
    __slots__ = ("seq", "index", "need", "in_progress", "stage", "disclosed")
    class NeedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SEQ_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    NEED_FIELD_NUMBER: _ClassVar[int]
    IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    DISCLOSED_FIELD_NUMBER: _ClassVar[int]
    seq: int
    index: int
    need: _containers.ScalarMap[str, str]
    in_progress: bool
    stage: str
    disclosed: _containers.RepeatedCompositeFieldContainer[DisclosedAccount]
    def __init__(self, seq: _Optional[int] = ..., index: _Optional[int] = ..., need: _Optional[_Mapping[str, str]] = ..., in_progress: _Optional[bool] = ..., stage: _Optional[str] = ..., disclosed: _Optional[_Iterable[_Union[DisclosedAccount, _Mapping]]] = ...) -> None: ...

class CycleDigest(_message.Message):
    __slots__ = ("seq", "cycle", "digest")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    seq: int
    cycle: int
    digest: bytes
    def __init__(self, seq: _Optional[int] = ..., cycle: _Optional[int] = ..., digest: _Optional[bytes] = ...) -> None: ...

class DefaultReportsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DefaultReports(_message.Message):
    __slots__ = ("reports_json",)
    REPORTS_JSON_FIELD_NUMBER: _ClassVar[int]
    reports_json: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, reports_json: _Optional[_Iterable[bytes]] = ...) -> None: ...
