"""How the fake fails: the same kinds of failure the real binaries report.

The parsers and the kernel model raise these; the runner turns them into the exact
exit code and stderr bytes of the imitated binary and backend (see ``render``).
"""

from __future__ import annotations

from typing import Optional, Tuple

__all__ = [
    "FakeError",
    "ParameterProblem",
    "BadArgument",
    "RuntimeProblem",
    "KernelRefused",
    "VersionProblem",
    "Raw",
]


class FakeError(Exception):
    """Base of every refusal the fake makes."""

    # warnings the parser printed before it refused (a restore line's, which
    # iptables-restore prints to stderr ahead of its error)
    warnings: Tuple[str, ...] = ()


class ParameterProblem(FakeError):
    """Exit 2: ``<prog> v1.8.9 (nf_tables): <message>`` then the ``Try `<prog> -h'`` line."""

    def __init__(self, message: str, *, opens_table: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        # the table legacy opened (and so created) before it refused (1.8.7)
        self.opens_table = opens_table


class BadArgument(FakeError):
    """Exit 2: ``Bad argument `<token>'`` (no program prefix) then the ``Try`` line."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


class RuntimeProblem(FakeError):
    """Exit 1: ``<prog>: <message>`` (e.g. ``No chain/target/match by that name.``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class KernelRefused(FakeError):
    """The kernel said EINVAL/EBUSY/...: nft exits 4 with ``<OP> failed (<strerror>)``,
    legacy exits 1 with ``<prog>: <strerror>.`` (+ `` Run `dmesg'...`` for EINVAL)."""

    def __init__(self, strerror: str, *, op: str = "RULE_APPEND", what: str = "") -> None:
        super().__init__(strerror)
        self.strerror = strerror
        self.op = op
        self.what = what


class VersionProblem(FakeError):
    """Exit 3: ``<prog> v1.8.9 (nf_tables): <message>`` (unknown table)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Raw(FakeError):
    """An exact exit code and stderr text, for the odd messages that fit no pattern."""

    def __init__(self, returncode: int, stderr: str, stdout: str = "") -> None:
        super().__init__(stderr)
        self.returncode = returncode
        self.stderr = stderr
        self.stdout = stdout
