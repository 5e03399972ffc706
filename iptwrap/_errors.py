"""The error model: one hierarchy, classified by one table.

iptables reports failures as an exit code plus English text on stderr, and the text
differs between the nft and legacy backends. Rather than scatter ``"No chain" in
stderr`` checks through the client (the way moby's ``Exists()`` ends up reading a lock
timeout as "rule absent"), every failure goes through :func:`classify`, which walks
:data:`_CLASSIFICATION` top to bottom and picks the first row whose exit code and
pattern match. The rows were taken from iptables 1.8.9 on both backends
(``tests/data/errors.jsonl``); a row names the backend it was seen on.

Exit codes of the iptables binaries: 1 other problem (rule or chain absent, chain
exists, kernel said no on legacy), 2 parameter problem, 3 version problem (unknown
table), 4 resource problem (nft netlink error, or legacy lock timeout). Exit 4 is not
always the lock, so only rows that also match a lock *message* are lock errors.

Every public exception is defined here::

    Exception
    ├── IPTablesError                 a command ran (or could not) and failed
    │   ├── NotFoundError             the chain or rule is absent
    │   │   └── JumpTargetNotFoundError  (also a ParameterError)
    │   ├── TableNotFoundError        (not a NotFoundError)
    │   │   └── UnknownTableError     (also an InvalidArgumentError: refused first)
    │   ├── ParameterError, AlreadyExistsError, ChainInUseError, RuleRejectedError,
    │   │   InvalidRuleNumberError, BadPolicyError, VersionError, ResourceError
    │   ├── PermissionDeniedError     not root, or no CAP_NET_ADMIN (with a hint)
    │   ├── LockTimeoutError, LockFileError
    │   ├── CommandTimeoutError, CommandKilledError, BinaryNotFoundError,
    │   │   NamespaceNotFoundError
    │   ├── RestoreError              names the payload line; also its cause's class
    │   │   └── BatchError            names the batch operation (and a hint)
    │   └── IPSetError                an ipset command failed (line: its restore line)
    │       ├── SetNotFoundError, EntryNotFoundError   (also NotFoundErrors)
    │       ├── SetExistsError, EntryExistsError       (also AlreadyExistsErrors)
    │       ├── IPSetParameterError   (also a ParameterError), SetInUseError,
    │       └── SetFullError          (also a ResourceError)
    ├── ValueError
    │   ├── InvalidArgumentError      refused before anything ran
    │   └── SaveFormatError           not iptables-save text
    └── RunnerTimeout                 raised by a Runner; the client makes it a
                                      CommandTimeoutError

Invalid arguments are ``ValueError``s, not ``IPTablesError``s: nothing ran, and
``except IPTablesError`` in an agent's retry loop must not swallow a bug in its own
call. The one exception is a misspelt table, which is both (``UnknownTableError``):
code written before the check caught the binary's ``TableNotFoundError`` for it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Optional, Pattern, Sequence, Tuple, Type

if TYPE_CHECKING:  # pragma: no cover
    from ._batch import BatchOp

__all__ = [
    "InvalidArgumentError",
    "UnknownTableError",
    "SaveFormatError",
    "RunnerTimeout",
    "BatchError",
    "IPTablesError",
    "NotFoundError",
    "TableNotFoundError",
    "JumpTargetNotFoundError",
    "AlreadyExistsError",
    "ChainInUseError",
    "ParameterError",
    "RuleRejectedError",
    "InvalidRuleNumberError",
    "BadPolicyError",
    "VersionError",
    "ResourceError",
    "LockTimeoutError",
    "PermissionDeniedError",
    "LockFileError",
    "RestoreError",
    "CommandTimeoutError",
    "CommandKilledError",
    "BinaryNotFoundError",
    "NamespaceNotFoundError",
    "IPSetError",
    "SetNotFoundError",
    "SetExistsError",
    "EntryExistsError",
    "EntryNotFoundError",
    "SetInUseError",
    "IPSetParameterError",
    "SetFullError",
    "classify_ipset",
    "first_meaningful_line",
    "ClassificationRow",
    "classify",
    "is_not_found",
]


class IPTablesError(Exception):
    """A command failed. Carries what the child was given and what it said."""

    # what to do about it, added to every message of the class
    HINT: Optional[str] = None

    def __init__(
        self,
        argv: Sequence[str],
        returncode: Optional[int],
        stdout: bytes = b"",
        stderr: bytes = b"",
        message: Optional[str] = None,
    ) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        text = message if message is not None else first_meaningful_line(stderr)
        if self.HINT is not None:
            text = f"{text} ({self.HINT})"
        # shell-quoted, so that a rule passed as one string shows as one quoted word
        cmd = shlex.join(self.argv)
        if not self.argv:  # refused before any command was built
            super().__init__(text)
        elif returncode:
            super().__init__(f"{cmd} failed (exit {returncode}): {text}")
        else:  # it never ran (None), or it ran and what it said was refused (0)
            super().__init__(f"{cmd}: {text}")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


class NotFoundError(IPTablesError):
    """The chain, rule, table or jump target does not exist."""


class TableNotFoundError(IPTablesError):
    """The table is unknown to this kernel/binary (exit 3, or save's exit 1).

    Deliberately not a :class:`NotFoundError`: only a missing rule or chain is
    "absent". A misspelt table (``"filtr"``) must raise from ``delete_rule``,
    ``chain_exists`` and ``rule_exists``, not read as "nothing there" (Kubernetes'
    client and its fake agree: exit 3 is not "not found").
    """


class ParameterError(IPTablesError):
    """Exit 2: iptables refused the command line before talking to the kernel."""


class JumpTargetNotFoundError(ParameterError, NotFoundError):
    """``-j``/``-g`` names a chain that does not exist (exit 2 on both backends)."""


class AlreadyExistsError(IPTablesError):
    """``-N`` of an existing chain, or ``-E`` onto an existing name."""


class ChainInUseError(IPTablesError):
    """``-X`` of a chain that still has rules or is still referenced."""


class RuleRejectedError(IPTablesError):
    """The kernel refused the rule (target outside its table or hook, ...).

    nft reports it with exit 4 (``RULE_APPEND failed (Invalid argument)``), which is
    why exit 4 alone must never be read as lock contention.
    """


class BadPolicyError(IPTablesError):
    """``-P`` on a chain that is not built in, or with a policy other than ACCEPT/DROP."""


class InvalidRuleNumberError(IPTablesError):
    """A rule number outside the chain (``Index of insertion too big``)."""


class VersionError(IPTablesError):
    """Exit 3, or a feature this iptables version does not have."""


class ResourceError(IPTablesError):
    """Exit 4 that is neither lock contention nor a rejected rule."""


class PermissionDeniedError(IPTablesError):
    """Not allowed to touch netfilter here: not root, or no CAP_NET_ADMIN in the namespace.

    One class for the four ways it shows (measured on 1.8.9 as an unprivileged user):
    nft's ``Permission denied (you must be root)`` (exit 4), legacy's ``can't open lock
    file /run/xtables.lock: Permission denied`` (exit 4), legacy save's ``Cannot
    initialize: Permission denied`` or ``Failed to list table names`` (exit 1), and
    ``ip netns exec``'s ``setting the network namespace ... failed: Operation not
    permitted`` (exit 255).
    """

    HINT = "run as root, or with CAP_NET_ADMIN in the network namespace"


class LockTimeoutError(IPTablesError):
    """The xtables lock was held by someone else for longer than we were willing to wait."""


class RestoreError(IPTablesError):
    """``iptables-restore`` failed; names the input line when iptables (or we) can tell.

    ``line`` is 1-based in the payload that was sent; ``line_text`` is that line.
    ``cause`` is the class the same stderr would map to outside a restore, and the
    error is an instance of it too: ``except NotFoundError`` catches a restore that
    failed for a missing chain, ``except JumpTargetNotFoundError`` one that jumped to
    a missing chain.
    """

    def __new__(cls, *args: object, **kwargs: object) -> RestoreError:
        cause = kwargs.get("cause", IPTablesError)
        if isinstance(cause, type) and cause is not IPTablesError and not issubclass(cls, cause):
            cls = _with_cause(cls, cause)
        return super().__new__(cls, *args)

    def __init__(
        self,
        argv: Sequence[str],
        returncode: Optional[int],
        stdout: bytes = b"",
        stderr: bytes = b"",
        *,
        line: Optional[int] = None,
        line_text: Optional[str] = None,
        cause: Type[IPTablesError] = IPTablesError,
    ) -> None:
        self.line = line
        self.line_text = line_text
        self.cause = cause
        self.hint: Optional[str] = None  # what the input got wrong, when _hints can tell
        detail = first_meaningful_line(stderr)
        if line is not None:
            shown = line_text if line_text is not None else "?"
            detail = f"{detail} [input line {line}: {shown!r}]"
        super().__init__(argv, returncode, stdout, stderr, message=detail)

    def add_hint(self, hint: Optional[str]) -> None:
        """Say what the input got wrong, after the binary's own message."""
        if hint is not None and self.hint is None:
            self.hint = hint
            self.args = (f"{self.args[0]}: {hint}",)


_CAUSED: Dict[Tuple[type, type], type] = {}


def _with_cause(cls: type, cause: type) -> type:
    """``cls`` that is also a ``cause`` (cached: one class per pair, so ``type(e)`` is stable)."""
    mixed = _CAUSED.get((cls, cause))
    if mixed is None:
        mixed = type(cls.__name__, (cls, cause), {"__module__": cls.__module__})
        mixed.__qualname__ = f"{cls.__qualname__}[{cause.__name__}]"
        mixed = _CAUSED.setdefault((cls, cause), mixed)
    return mixed


class LockFileError(IPTablesError):
    """The cross-process lock file (``ensure_lock_file``) cannot be opened.

    Raised before anything runs; the message says how to point the client at
    another file (``$IPTWRAP_LOCK_FILE``) or opt out (``ensure_lock_file=False``).
    """


class CommandTimeoutError(IPTablesError):
    """The child did not finish within ``call_timeout`` and was killed."""


class CommandKilledError(IPTablesError):
    """The child died from a signal (negative return code), e.g. SIGKILL by the OOM killer.

    What it had committed before dying stays committed: check with a save.
    """


class BinaryNotFoundError(IPTablesError):
    """The iptables binary (or ``ip`` for a netns) is not installed."""


class NamespaceNotFoundError(IPTablesError):
    """``ip netns exec`` could not enter the named network namespace.

    Deliberately not a :class:`NotFoundError`: a vanished namespace must never read
    as "chain absent" to code that creates what is absent.
    """


class IPSetError(IPTablesError):
    """An ``ipset`` command failed.

    Also an :class:`IPTablesError`, so that one ``except`` covers every netfilter
    command an agent runs. Causes outside ipset itself (a missing binary or
    namespace, a timeout, no privilege) raise the shared classes instead, as they do
    for iptables. ``line`` is the ``ipset restore`` input line it names, if any
    (``Error in line N:``); ``operation`` the batch call behind that line.
    """

    operation: Optional[str] = None

    @property
    def line(self) -> Optional[int]:
        m = _IPSET_LINE.search(self.stderr_text)
        return int(m.group(1)) if m else None


class SetNotFoundError(IPSetError, NotFoundError):
    """The named set does not exist."""


class SetExistsError(IPSetError, AlreadyExistsError):
    """A set of that name exists already (create without ``ignore_exists``, rename)."""


class EntryExistsError(IPSetError, AlreadyExistsError):
    """The entry is in the set already (add without ``ignore_exists``)."""


class EntryNotFoundError(IPSetError, NotFoundError):
    """The entry is not in the set (delete without ``ignore_missing``)."""


class SetInUseError(IPSetError):
    """The kernel refused to destroy or rename a set that a rule references."""


class IPSetParameterError(IPSetError, ParameterError):
    """ipset refused the command's words: a bad element or option for the set's type,
    an unknown type, or a swap of sets of different types."""


class SetFullError(IPSetError, ResourceError):
    """The set holds ``maxelem`` entries, or a bitmap's range has no room."""


@dataclass(frozen=True)
class ClassificationRow:
    """One row of the table: exit code (None = any), stderr pattern, class, where seen."""

    returncode: Optional[int]
    pattern: Pattern[str]
    error: Type[IPTablesError]
    seen_on: str


def _row(
    rc: Optional[int], pattern: str, error: Type[IPTablesError], seen_on: str
) -> ClassificationRow:
    return ClassificationRow(rc, re.compile(pattern), error, seen_on)


# Order matters: the first matching row wins. Lock rows come before any other exit-4
# row; namespace rows before "No such file or directory" rows.
_CLASSIFICATION: Tuple[ClassificationRow, ...] = (
    # fmt: off
    _row(None, r'Cannot open network namespace "[^"]*"', NamespaceNotFoundError, "ip netns"),
    _row(
        None,
        r"nsenter: cannot open \S+: No such file or directory",
        NamespaceNotFoundError,
        "nsenter",
    ),
    _row(
        None,
        r"nsenter: reassociate to namespace '[^']*' failed: Invalid argument",
        NamespaceNotFoundError,
        "nsenter (not a network namespace)",
    ),
    _row(
        None,
        r"nsenter: failed to execute \S+: No such file or directory",
        BinaryNotFoundError,
        "nsenter",
    ),
    _row(
        None,
        r"nsenter: reassociate to namespace '[^']*' failed: Operation not permitted",
        PermissionDeniedError,
        "nsenter",
    ),
    _row(
        None,
        r'exec of "[^"]*" failed: No such file or directory',
        BinaryNotFoundError,
        "ip netns exec",
    ),
    # not root (or no CAP_NET_ADMIN): before the lock rows, since legacy fails to open
    # the lock file itself
    _row(None, r"Permission denied \(you must be root\)", PermissionDeniedError, "both"),
    _row(4, r"can't open lock file \S+: Permission denied", PermissionDeniedError, "legacy"),
    _row(
        1,
        r"Failed to list table names in \S+: Permission denied",
        PermissionDeniedError,
        "legacy save",
    ),
    _row(
        None,
        r"setting the network namespace .* failed: Operation not permitted",
        PermissionDeniedError,
        "ip netns exec",
    ),
    _row(4, r"Another app is currently holding the xtables lock", LockTimeoutError, "legacy"),
    _row(4, r"Resource temporarily unavailable", LockTimeoutError, "legacy"),
    _row(
        None,
        r"Could not fetch rule set generation id: Resource temporarily unavailable",
        LockTimeoutError,
        "nft",
    ),
    _row(4, r"(RULE_\w+|CHAIN_\w+) failed \(Invalid argument\)", RuleRejectedError, "nft"),
    _row(4, r"CHAIN_(?:USER_)?DEL failed \(Device or resource busy\)", ChainInUseError, "nft"),
    # nft, when a concurrent writer changed the ruleset between lookup and commit:
    _row(4, r"[A-Z_]+ failed \(No such file or directory\)", NotFoundError, "nft race"),
    _row(4, r"[A-Z_]+ failed \(File exists\)", AlreadyExistsError, "nft race"),
    _row(1, r"Directory not empty", ChainInUseError, "legacy"),
    _row(1, r"Too many links", ChainInUseError, "legacy"),
    _row(1, r"Device or resource busy", ChainInUseError, "legacy"),
    _row(1, r"Invalid argument\. Run `dmesg'", RuleRejectedError, "legacy"),
    _row(1, r"Chain already exists", AlreadyExistsError, "both"),
    _row(1, r"File exists", AlreadyExistsError, "both"),
    _row(1, r"Index of \w+ too big", InvalidRuleNumberError, "both"),
    _row(
        1, r"Table `[^']*' does not exist|Table does not exist", TableNotFoundError, "iptables-save"
    ),
    _row(1, r"Bad built-in chain name|Bad policy name", BadPolicyError, "both"),
    _row(1, r"No chain/target/match by that name", NotFoundError, "both"),
    _row(1, r"Bad rule \(does a matching rule exist in that chain\?\)", NotFoundError, "both"),
    _row(1, r"chain `[^']*' in table `[^']*' is incompatible", NotFoundError, "nft -L"),
    _row(2, r"Chain '[^']*' does not exist", JumpTargetNotFoundError, "nft"),
    _row(
        2,
        r"Couldn't load target `[^']*':No such file or directory",
        JumpTargetNotFoundError,
        "legacy",
    ),
    _row(2, r"goto '[^']*' is not a chain", JumpTargetNotFoundError, "legacy"),
    _row(
        2,
        r"table name '[^']*' invalid|unable to initialize table '",
        TableNotFoundError,
        "iptables-restore",
    ),
    _row(3, r"table '[^']*' does not exist", TableNotFoundError, "both"),
    _row(
        3,
        r"can't initialize iptables table|Table does not exist",
        TableNotFoundError,
        "legacy, older",
    ),
    _row(2, r"", ParameterError, "both"),
    _row(3, r"", VersionError, "both"),
    _row(4, r"", ResourceError, "nft"),
    # fmt: on
)


# ipset 7.17's messages ("ipset v7.17: <message>", exit 1), measured in namespaces;
# the first matching row wins. Namespace and binary rows come from the table above.
_IPSET_LINE = re.compile(r"Error in line (\d+):")
_IPSET_CLASSIFICATION: Tuple[Tuple[Pattern[str], Type[IPTablesError]], ...] = (
    (re.compile(r"Kernel error received: Operation not permitted"), PermissionDeniedError),
    (re.compile(r"in use by a kernel component"), SetInUseError),
    (re.compile(r"does not exist"), SetNotFoundError),
    (re.compile(r"same name already exists|new name already exists"), SetExistsError),
    (re.compile(r"it's already added"), EntryExistsError),
    (re.compile(r"it's not added"), EntryNotFoundError),
    (re.compile(r"is full|out of range of the set"), SetFullError),
    (re.compile(r"Syntax error|cannot be used|type does not match|Unknown"), IPSetParameterError),
)


def classify_ipset(returncode: int, stderr: bytes) -> Type[IPTablesError]:
    """The error class of a failed ``ipset`` command."""
    if returncode < 0:
        return CommandKilledError
    text = stderr.decode("utf-8", "replace")
    for row in _CLASSIFICATION:  # entering the namespace, finding the binary
        if row.seen_on.startswith(("ip netns", "nsenter")) and row.pattern.search(text):
            return row.error
    for pattern, error in _IPSET_CLASSIFICATION:
        if pattern.search(text):
            return error
    return IPSetError


def classify(returncode: int, stderr: bytes) -> Type[IPTablesError]:
    """The error class for an exit code and stderr, by the first matching row."""
    if returncode < 0:
        return CommandKilledError
    text = stderr.decode("utf-8", "replace")
    for row in _CLASSIFICATION:
        if row.returncode is not None and row.returncode != returncode:
            continue
        if row.pattern.search(text):
            return row.error
    return IPTablesError


def is_lock_contention(returncode: int, stderr: bytes) -> bool:
    """True only for a failure caused by someone else holding the lock (retryable)."""
    return classify(returncode, stderr) is LockTimeoutError


def is_not_found(exc: BaseException) -> bool:
    """True when ``exc`` says a chain or rule (or a jump's target chain) does not exist.

    The same answer for the real runner and the fake, since both go through
    :func:`classify`, and for a restore that failed for that reason. A missing table,
    a lock timeout or a vanished namespace is never "not found".
    """
    return isinstance(exc, NotFoundError)


_RESTORE_LINE = (
    re.compile(r"Error occurred at line: (\d+)"),
    re.compile(r"line (\d+) failed"),
    re.compile(r"COMMIT expected at line (\d+)"),
    re.compile(r"\bline (\d+)\b"),
)


# iptables-legacy-restore reports every failure of a command line as a bare
# "iptables-restore: line N failed" (measured on 1.8.9 for -A/-I/-D/-R/-F/-Z/-X/-N/-E/-P/
# -C). Where the failing line's verb leaves one cause, that cause is the class: a -D or
# -C of a rule spec fails only when the rule or its chain is absent. (-D by number,
# -X, -E, -I N, -P: several causes, left unclassified.) Rows: (line pattern, class).
_BARE_LINE_FAILED = re.compile(r"^\S*restore: line \d+ failed\s*$")
_BARE_RESTORE_CAUSES: Tuple[Tuple[Pattern[str], Type[IPTablesError]], ...] = (
    (re.compile(r"^(?:-D|--delete|-C|--check) \S+ (?!\d+\s*$)\S"), NotFoundError),
)


def restore_cause(returncode: int, stderr: bytes, line_text: Optional[str]) -> Type[IPTablesError]:
    """The class of a failed restore: :func:`classify`, or the failing line's verb."""
    cls = classify(returncode, stderr)
    if cls is not IPTablesError or returncode != 1 or line_text is None:
        return cls
    if not _BARE_LINE_FAILED.match(stderr.decode("utf-8", "replace").strip()):
        return cls
    for pattern, cause in _BARE_RESTORE_CAUSES:
        if pattern.match(line_text.strip()):
            return cause
    return cls


def restore_failed_line(stderr: bytes) -> Optional[int]:
    """The input line iptables-restore blames, if its message names one."""
    text = stderr.decode("utf-8", "replace")
    for pattern in _RESTORE_LINE:
        match = pattern.search(text)
        if match:
            return int(match.group(1))
    return None


def first_meaningful_line(stderr: bytes) -> str:
    for raw in stderr.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line and not line.startswith("Try `"):
            return line
    return "(no message)"


# ---- the errors of the seams: arguments, the save format, the runner, the batch


class InvalidArgumentError(ValueError):
    """A table, chain or rule argument that cannot be sent safely."""


class UnknownTableError(TableNotFoundError, InvalidArgumentError):
    """A table name iptables does not have, refused before anything runs.

    A :class:`TableNotFoundError` (what the binary would have said, exit 3) and an
    :class:`InvalidArgumentError` (the caller's mistake); the message suggests the
    table meant (``"NAT"``: did you mean 'nat'?).
    """

    def __init__(self, message: str) -> None:
        IPTablesError.__init__(self, [], None, message=message)


class SaveFormatError(ValueError):
    """The input is not iptables-save output; names the line."""

    def __init__(self, line_number: int, line: str, why: str) -> None:
        super().__init__(f"line {line_number}: {why}: {line!r}")
        self.line_number = line_number
        self.line = line


class RunnerTimeout(Exception):
    """Raised by a runner when the child outlived its timeout and was killed."""

    def __init__(self, argv: Sequence[str], timeout: float, stdout: bytes, stderr: bytes) -> None:
        super().__init__(f"{argv[0] if argv else '?'} timed out after {timeout:g}s")
        self.argv = list(argv)
        self.timeout = timeout
        self.stdout = stdout
        self.stderr = stderr


class BatchError(RestoreError):
    """The batch's restore failed; ``operation`` is the call behind the failing line.

    Like every :class:`RestoreError`, also an instance of its cause's class.
    """

    def __new__(
        cls, cause: RestoreError, operation: Optional[BatchOp], hint: Optional[str] = None
    ) -> BatchError:
        made = RestoreError.__new__(cls, cause=cause.cause)
        assert isinstance(made, BatchError)
        return made

    def __init__(
        self, cause: RestoreError, operation: Optional[BatchOp], hint: Optional[str] = None
    ) -> None:
        super().__init__(
            cause.argv,
            cause.returncode,
            cause.stdout,
            cause.stderr,
            line=cause.line,
            line_text=cause.line_text,
            cause=cause.cause,
        )
        self.operation = operation
        if operation is not None:
            self.args = (f"{self.args[0]} [batch operation {operation}]",)
        self.add_hint(hint)
