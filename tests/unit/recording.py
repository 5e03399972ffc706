"""A scripted runner for pinning the argv the client sends."""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple, Union

from iptwrap import Result

Reply = Union[Result, BaseException, Tuple[int, bytes, bytes]]


class RecordingRunner:
    """Answers ``--version`` with a chosen version line and everything else from a script.

    ``replies`` is consumed in order for non-version calls; when it runs out, calls
    succeed with empty output. Every argv is recorded, with its input and timeout.
    """

    def __init__(
        self,
        version_line: str = "iptables v1.8.9 (nf_tables)",
        replies: Optional[List[Reply]] = None,
        on_call: Optional[Callable[[List[str]], None]] = None,
    ) -> None:
        self.version_line = version_line
        self.replies = list(replies or [])
        self.calls: List[List[str]] = []
        self.inputs: List[Optional[bytes]] = []
        self.timeouts: List[Optional[float]] = []
        self.on_call = on_call

    def run(
        self, argv: Sequence[str], *, input: Optional[bytes] = None, timeout: Optional[float] = None
    ) -> Result:
        argv = list(argv)
        if argv[1:] == ["--version"]:
            return Result(argv, 0, (self.version_line + "\n").encode(), b"")
        self.calls.append(argv)
        self.inputs.append(input)
        self.timeouts.append(timeout)
        if self.on_call:
            self.on_call(argv)
        if not self.replies:
            return Result(argv, 0, b"", b"")
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, tuple):
            return Result(argv, reply[0], reply[1], reply[2])
        return reply
