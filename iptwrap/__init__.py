"""iptwrap: a thin, typed client for the host's iptables, and a faithful fake of it.

Import everything from here; ``iptwrap.fake`` is the one public submodule.
"""

from ._batch import Batch, BatchError, BatchOp, BatchResult
from ._client import IPTables
from ._dump import Dump, SavedChain, SavedRule, SavedTable, SaveFormatError, parse_save
from ._errors import (
    AlreadyExistsError,
    BadPolicyError,
    BinaryNotFoundError,
    ChainInUseError,
    ClassificationRow,
    CommandKilledError,
    CommandTimeoutError,
    InvalidRuleNumberError,
    IPTablesError,
    JumpTargetNotFoundError,
    LockFileError,
    LockTimeoutError,
    NamespaceNotFoundError,
    NotFoundError,
    ParameterError,
    PermissionDeniedError,
    ResourceError,
    RestoreError,
    RuleRejectedError,
    TableNotFoundError,
    UnknownTableError,
    VersionError,
    classify,
    is_not_found,
)
from ._interface import Interface
from ._listing import ChainPolicy, RuleCounters
from ._payload import InvalidArgumentError
from ._runner import Result, Runner, RunnerTimeout, RunResult, SubprocessRunner
from ._settings import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_ENSURE_LOCK_FILE,
    DEFAULT_LOCK_TIMEOUT,
    ENSURE_LOCK_FILE_ENV,
    Binaries,
    RetryPolicy,
)
from ._sync import Jump, Syncer, SyncResult
from ._types import Chain, ChainLike, Mode, Protocol, RulePosition, Table, TableLike, TableName
from ._version import BinaryInfo, Version

__version__ = "0.1.0"

__all__ = [
    "AlreadyExistsError",
    "Batch",
    "BatchError",
    "BatchOp",
    "BatchResult",
    "BadPolicyError",
    "BinaryInfo",
    "BinaryNotFoundError",
    "Binaries",
    "Chain",
    "ChainInUseError",
    "ChainPolicy",
    "ClassificationRow",
    "CommandKilledError",
    "CommandTimeoutError",
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_ENSURE_LOCK_FILE",
    "ENSURE_LOCK_FILE_ENV",
    "DEFAULT_LOCK_TIMEOUT",
    "Dump",
    "IPTables",
    "IPTablesError",
    "Jump",
    "Interface",
    "InvalidArgumentError",
    "UnknownTableError",
    "InvalidRuleNumberError",
    "JumpTargetNotFoundError",
    "LockFileError",
    "LockTimeoutError",
    "PermissionDeniedError",
    "Mode",
    "NamespaceNotFoundError",
    "NotFoundError",
    "ParameterError",
    "Protocol",
    "ResourceError",
    "RestoreError",
    "Result",
    "SaveFormatError",
    "SavedChain",
    "SavedRule",
    "SavedTable",
    "RetryPolicy",
    "RuleCounters",
    "RulePosition",
    "RuleRejectedError",
    "Runner",
    "RunResult",
    "RunnerTimeout",
    "SubprocessRunner",
    "SyncResult",
    "Syncer",
    "Table",
    "TableName",
    "TableLike",
    "ChainLike",
    "TableNotFoundError",
    "Version",
    "VersionError",
    "classify",
    "is_not_found",
    "parse_save",
]
