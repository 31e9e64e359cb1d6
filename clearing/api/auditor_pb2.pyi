from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class AuditRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AuditReport(_message.Message):
    __slots__ = ("ok", "error", "events", "cycles", "digests", "head", "state_hash", "node_agrees")
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CYCLES_FIELD_NUMBER: _ClassVar[int]
    DIGESTS_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    STATE_HASH_FIELD_NUMBER: _ClassVar[int]
    NODE_AGREES_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    error: str
    events: int
    cycles: int
    digests: _containers.RepeatedScalarFieldContainer[bytes]
    head: bytes
    state_hash: bytes
    node_agrees: bool
    def __init__(self, ok: _Optional[bool] = ..., error: _Optional[str] = ..., events: _Optional[int] = ..., cycles: _Optional[int] = ..., digests: _Optional[_Iterable[bytes]] = ..., head: _Optional[bytes] = ..., state_hash: _Optional[bytes] = ..., node_agrees: _Optional[bool] = ...) -> None: ...
