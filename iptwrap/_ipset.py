"""``IPSet``: the client over the host's ``ipset`` binary.

Rulesets name ipsets (``-m set --match-set NAME src``, ``-j SET --add-set``); agents
create and fill them beside their rules. This client mirrors Kubernetes'
``pkg/util/ipset`` Interface in Python naming, over the same :class:`~iptwrap.Runner`
seam as :class:`~iptwrap.IPTables`: one argv list per command, ``LC_ALL=C``, the same
netns handling, timeouts and logging, and failures as typed :class:`IPSetError`
subclasses. Over a :class:`~iptwrap.fake.FakeRunner` it runs unchanged
(:class:`~iptwrap.fake.FakeIPSet`).

Two facts about ``ipset restore`` shape the bulk paths (measured with ipset 7.17):
it is not transactional (a line the kernel refuses leaves the lines before it applied;
a line ipset cannot parse drops the adds it still buffered, but not a create); and
``-exist`` counts only as a global option (``ipset -exist restore``), not on a line.
:meth:`IPSet.sync_entries` therefore fills a scratch set and ``swap``\\ s it in: the
live set holds either the old members or the new ones, never a mix and never none.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from ._command import run_command
from ._errors import (
    EntryNotFoundError,
    InvalidArgumentError,
    IPSetError,
    IPTablesError,
    SetNotFoundError,
    classify_ipset,
    first_meaningful_line,
)
from ._runner import Runner, SubprocessRunner
from ._settings import DEFAULT_CALL_TIMEOUT

__all__ = ["IPSet", "SetSpec", "IPSetBatch", "IPSetResult", "SET_TYPES"]

# The set types ipset 7.x creates (``ipset help``).
SET_TYPES = frozenset(
    {
        "bitmap:ip",
        "bitmap:ip,mac",
        "bitmap:port",
        "hash:ip",
        "hash:ip,mac",
        "hash:ip,mark",
        "hash:ip,port",
        "hash:ip,port,ip",
        "hash:ip,port,net",
        "hash:mac",
        "hash:net",
        "hash:net,iface",
        "hash:net,net",
        "hash:net,port",
        "hash:net,port,net",
        "list:set",
    }
)

# ipset's IPSET_MAXNAMELEN is 32 with the terminating NUL.
_NAME = re.compile(r"[^\s\"'\\-][^\s\"'\\]{0,30}\Z")
# One element: no whitespace (element options are separate words), no quote that the
# restore reader would take as the start of a string, not an option.
_ENTRY = re.compile(r"[^\s\"'\\-][^\s\"'\\]*\Z")
_COMMENT = re.compile(r"[^\"\\\x00-\x1f\x7f]{0,255}\Z")


def check_set_name(name: object) -> str:
    """A set name as ipset takes it: 1 to 31 characters, no blank, quote or leading ``-``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidArgumentError(
            f"set names are 1 to 31 characters without blanks or quotes, not starting "
            f"with '-': {name!r}"
        )
    return name


def _check_entry(entry: object) -> str:
    if not isinstance(entry, str) or not _ENTRY.match(entry):
        raise InvalidArgumentError(
            f"an entry is one word without blanks or quotes, not starting with '-' "
            f"(e.g. '192.0.2.1', '198.51.100.0/24', '192.0.2.1,tcp:80'): {entry!r}"
        )
    return entry


def _positive(what: str, value: Optional[int], low: int = 0) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidArgumentError(f"{what} must be an integer >= {low}, not {value!r}")
    return value


@dataclass(frozen=True)
class SetSpec:
    """What ``ipset create`` is told: the set's name, type and options.

    ``family`` is ``"inet"`` (IPv4) or ``"inet6"``; the ``bitmap:*``, ``hash:mac`` and
    ``list:set`` types have none. ``range`` is required by the bitmap types
    (``"1024-65535"`` for ``bitmap:port``, ``"192.0.2.0/24"`` for ``bitmap:ip``).
    ``timeout`` (seconds) makes entries expire; ``counters`` and ``comment`` give each
    entry packet/byte counters and a comment. Checked when made: nothing invalid
    reaches a command or a restore payload.
    """

    name: str
    type: str = "hash:ip"
    family: Optional[str] = "inet"
    hashsize: Optional[int] = None
    maxelem: Optional[int] = None
    timeout: Optional[int] = None
    counters: bool = False
    comment: bool = False
    range: Optional[str] = None

    def __post_init__(self) -> None:
        check_set_name(self.name)
        if self.type not in SET_TYPES:
            raise InvalidArgumentError(
                f"unknown set type {self.type!r}; ipset has: {', '.join(sorted(SET_TYPES))}"
            )
        if self.family not in (None, "inet", "inet6"):
            raise InvalidArgumentError(f"family must be 'inet' or 'inet6', not {self.family!r}")
        _positive("hashsize", self.hashsize, 64)
        _positive("maxelem", self.maxelem, 1)
        _positive("timeout", self.timeout)
        if self.range is not None:
            _check_entry(self.range)
        if self.type.startswith("bitmap:") and self.range is None:
            raise InvalidArgumentError(f"a {self.type} set needs range= (its span)")

    @property
    def has_family(self) -> bool:
        return self.type.startswith("hash:") and self.type != "hash:mac"

    def create_words(self) -> List[str]:
        """``NAME TYPE OPTIONS...``: what follows ``create``."""
        words = [self.name, self.type]
        if self.has_family and self.family is not None:
            words += ["family", self.family]
        if self.range is not None:
            words += ["range", self.range]
        for option, value in (
            ("hashsize", self.hashsize),
            ("maxelem", self.maxelem),
            ("timeout", self.timeout),
        ):
            if value is not None:
                words += [option, str(value)]
        if self.counters:
            words.append("counters")
        if self.comment:
            words.append("comment")
        return words


def _entry_words(entry: str, timeout: Optional[int], comment: Optional[str]) -> List[str]:
    words = [_check_entry(entry)]
    if _positive("timeout", timeout) is not None:
        words += ["timeout", str(timeout)]
    if comment is not None:
        if not isinstance(comment, str) or not _COMMENT.match(comment):
            raise InvalidArgumentError(
                f"a comment is at most 255 characters, without quotes, backslashes or "
                f"control characters: {comment!r}"
            )
        words += ["comment", f'"{comment}"']
    return words


@dataclass
class IPSetResult:
    """What a batch or a sync sent: the ``ipset restore`` payload, and whether it ran."""

    payload: bytes = b""
    applied: bool = False


class IPSetBatch:
    """Many ipset commands, one ``ipset -exist restore``.

    Obtain one with :meth:`IPSet.batch`. Creating an existing set (of the same type
    and options), adding a present entry and deleting an absent one are not errors
    (``-exist``). ipset restore is not transactional: if a line fails, lines before it
    may stay applied, and the :class:`IPSetError` names the line (``.line``) and the
    batch call behind it (``.operation``). For all-or-nothing membership, use
    :meth:`IPSet.sync_entries`.
    """

    def __init__(self, client: IPSet, *, dry_run: bool = False) -> None:
        self._client = client
        self._dry_run = dry_run
        self._lines: List[str] = []
        self._ops: List[str] = []
        self._done = False
        self.result = IPSetResult()

    def _add(self, words: Sequence[str], op: str) -> None:
        if self._done:
            raise RuntimeError("this batch has already been applied")
        self._lines.append(" ".join(words))
        self._ops.append(op)

    def create_set(self, spec: SetSpec) -> None:
        self._add(["create", *spec.create_words()], f"create_set({spec.name})")

    def add_entry(
        self,
        name: str,
        entry: str,
        *,
        timeout: Optional[int] = None,
        comment: Optional[str] = None,
    ) -> None:
        words = ["add", check_set_name(name), *_entry_words(entry, timeout, comment)]
        self._add(words, f"add_entry({name}, {entry})")

    def add_entries(self, name: str, entries: Iterable[str]) -> None:
        """``add_entry`` for each entry, checked before any is recorded."""
        check_set_name(name)
        words = [f"add {name} {_check_entry(entry)}" for entry in entries]
        if self._done:
            raise RuntimeError("this batch has already been applied")
        self._lines.extend(words)
        self._ops.extend(f"add_entry({name}, {line.split(' ', 2)[2]})" for line in words)

    def delete_entry(self, name: str, entry: str) -> None:
        self._add(
            ["del", check_set_name(name), _check_entry(entry)], f"delete_entry({name}, {entry})"
        )

    def flush_set(self, name: str) -> None:
        self._add(["flush", check_set_name(name)], f"flush_set({name})")

    def destroy_set(self, name: str) -> None:
        self._add(["destroy", check_set_name(name)], f"destroy_set({name})")

    def swap_sets(self, first: str, second: str) -> None:
        self._add(
            ["swap", check_set_name(first), check_set_name(second)], f"swap_sets({first}, {second})"
        )

    def rename_set(self, old: str, new: str) -> None:
        self._add(["rename", check_set_name(old), check_set_name(new)], f"rename_set({old}, {new})")

    @property
    def payload(self) -> bytes:
        return "".join(line + "\n" for line in self._lines).encode()

    def __enter__(self) -> IPSetBatch:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self._done = True

    def commit(self) -> IPSetResult:
        if self._done:
            raise RuntimeError("this batch has already been applied")
        self._done = True
        self.result.payload = self.payload
        if self._lines and not self._dry_run:
            try:
                self._client.restore(self.result.payload, ignore_exists=True)
            except IPSetError as exc:
                line = exc.line
                if line is None or not 1 <= line <= len(self._ops):
                    raise
                op = self._ops[line - 1]
                named = type(exc)(
                    exc.argv,
                    exc.returncode,
                    exc.stdout,
                    exc.stderr,
                    message=f"{first_meaningful_line(exc.stderr)} [batch operation {op}]",
                )
                named.operation = op
                raise named from exc
            self.result.applied = True
        return self.result


class IPSet:
    """The host's ipsets, through its ``ipset`` binary.

    ``netns`` runs every command in that network namespace (a name, through ``ip netns
    exec``, or a path, through ``nsenter``), as :class:`~iptwrap.IPTables` does; or
    pass your own ``runner``. ``call_timeout`` bounds each command (the child's process
    group is killed on expiry). ipset takes no lock: the kernel serialises each
    command.
    """

    def __init__(
        self,
        *,
        netns: Optional[str] = None,
        runner: Optional[Runner] = None,
        binary: str = "ipset",
        call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        if runner is not None and netns is not None:
            raise InvalidArgumentError(
                "netns applies to the built-in SubprocessRunner; give it to your runner instead"
            )
        if call_timeout is not None and call_timeout <= 0:
            raise InvalidArgumentError("call_timeout must be positive or None")
        self._runner: Runner = runner if runner is not None else SubprocessRunner(netns=netns)
        self._binary = binary
        self._call_timeout = call_timeout
        self._netns = netns

    # ----------------------------------------------------------------- sets

    def version(self) -> str:
        """ipset's version, e.g. ``"7.17"``."""
        out = self._run(["version"]).decode("utf-8", "replace")
        m = re.search(r"v(\d+(?:\.\d+)*)", out)
        if m is None:
            raise IPSetError([self._binary, "version"], 0, message=f"no version in {out!r}")
        return m.group(1)

    def create_set(self, spec: SetSpec, *, ignore_exists: bool = True) -> None:
        """``ipset create``; a set of that name with the same type and options is kept
        when ``ignore_exists`` (a different one is still a :class:`SetExistsError`)."""
        self._run(["create", *spec.create_words(), *(["-exist"] if ignore_exists else [])])

    def flush_set(self, name: str) -> None:
        self._run(["flush", check_set_name(name)])

    def destroy_set(self, name: str, *, ignore_missing: bool = False) -> None:
        """``ipset destroy NAME``; :class:`SetInUseError` while a rule references it."""
        try:
            self._run(["destroy", check_set_name(name)])
        except SetNotFoundError:
            if not ignore_missing:
                raise

    def destroy_all_sets(self) -> None:
        """``ipset destroy``: every set of the namespace (none if one is in use)."""
        self._run(["destroy"])

    def rename_set(self, old: str, new: str) -> None:
        self._run(["rename", check_set_name(old), check_set_name(new)])

    def swap_sets(self, first: str, second: str) -> None:
        """Exchange two sets' contents atomically (their types must match)."""
        self._run(["swap", check_set_name(first), check_set_name(second)])

    def list_sets(self) -> List[str]:
        """The names of every set, in the kernel's order."""
        return self._run(["list", "-n"]).decode("utf-8", "replace").split()

    def set_exists(self, name: str) -> bool:
        return check_set_name(name) in self.list_sets()

    # ----------------------------------------------------------------- entries

    def add_entry(
        self,
        name: str,
        entry: str,
        *,
        ignore_exists: bool = True,
        timeout: Optional[int] = None,
        comment: Optional[str] = None,
    ) -> None:
        """``ipset add``; a present entry is not an error when ``ignore_exists``."""
        words = ["add", check_set_name(name), *_entry_words(entry, timeout, comment)]
        self._run(words + (["-exist"] if ignore_exists else []))

    def delete_entry(self, name: str, entry: str, *, ignore_missing: bool = True) -> None:
        """``ipset del``; an absent entry is not an error when ``ignore_missing``."""
        try:
            self._run(["del", check_set_name(name), _check_entry(entry)])
        except EntryNotFoundError:
            if not ignore_missing:
                raise

    def test_entry(self, name: str, entry: str) -> bool:
        """Whether ``entry`` is in the set (``ipset test``: exit 0 yes, 1 with "is NOT in
        set" no); a missing set raises :class:`SetNotFoundError`."""
        argv = self._argv(["test", check_set_name(name), _check_entry(entry)])
        done = run_command(self._runner, argv, None, self._call_timeout)
        if done.returncode == 0:
            return True
        if done.returncode == 1 and b"is NOT in set" in done.stderr + done.stdout:
            return False
        raise self._failure(argv, done.returncode, done.stdout, done.stderr)

    def list_entries(self, name: str) -> List[str]:
        """The set's entries as the kernel prints them (``192.0.2.1,tcp:80``), without
        their options (timeout, counters, comment)."""
        check_set_name(name)
        return list(parse_entries(self.save(name).decode("utf-8", "replace"), name))

    # ----------------------------------------------------------------- bulk

    def save(self, name: Optional[str] = None) -> bytes:
        """``ipset save [NAME]``: restore input for the set (or every set)."""
        return self._run(["save"] + ([check_set_name(name)] if name is not None else []))

    def restore(self, data: Union[bytes, str], *, ignore_exists: bool = False) -> None:
        """``ipset restore`` of ``data`` (``-exist`` when ``ignore_exists``).

        Not atomic: a failing line (named by the error's ``line``) may leave lines
        before it applied.
        """
        payload = data.encode() if isinstance(data, str) else bytes(data)
        self._run((["-exist"] if ignore_exists else []) + ["restore"], payload)

    def batch(self, *, dry_run: bool = False) -> IPSetBatch:
        """Collect commands; ``with`` applies them in one ``ipset -exist restore``."""
        return IPSetBatch(self, dry_run=dry_run)

    def sync_entries(
        self, spec: SetSpec, entries: Iterable[str], *, dry_run: bool = False
    ) -> IPSetResult:
        """Make the set hold exactly ``entries``, with no moment where it holds fewer
        than either the old members or the new ones.

        One ``ipset -exist restore``: create the set if it is missing, fill a scratch
        set of the same spec, ``swap`` it in, destroy the scratch set. The set's
        references (rules naming it) are untouched by a swap. If the restore fails, the
        live set is unchanged and the scratch set is destroyed.
        """
        scratch = _scratch_name(spec.name)
        tmp = dataclasses.replace(spec, name=scratch)
        lines = [
            " ".join(["create", *spec.create_words()]),
            " ".join(["create", *tmp.create_words()]),
            f"flush {scratch}",
            *(f"add {scratch} {_check_entry(entry)}" for entry in entries),
            f"swap {scratch} {spec.name}",
            f"destroy {scratch}",
        ]
        result = IPSetResult(payload="".join(line + "\n" for line in lines).encode())
        if dry_run:
            return result
        try:
            self.restore(result.payload, ignore_exists=True)
        except IPTablesError:
            self.destroy_set(scratch, ignore_missing=True)
            raise
        result.applied = True
        return result

    # ----------------------------------------------------------------- internals

    def _argv(self, words: List[str]) -> List[str]:
        return [self._binary, *words]

    def _run(self, words: List[str], payload: Optional[bytes] = None) -> bytes:
        argv = self._argv(words)
        done = run_command(self._runner, argv, payload, self._call_timeout)
        if done.returncode != 0:
            raise self._failure(argv, done.returncode, done.stdout, done.stderr)
        return done.stdout

    @staticmethod
    def _failure(argv: List[str], returncode: int, stdout: bytes, stderr: bytes) -> IPTablesError:
        return classify_ipset(returncode, stderr)(argv, returncode, stdout, stderr)

    def __repr__(self) -> str:
        where = f"netns={self._netns!r}" if self._netns else ""
        return f"IPSet({where})"


def _scratch_name(name: str) -> str:
    """The scratch set of a sync: the same for the same set (so a crashed sync's is
    reused, not leaked), 14 characters."""
    return "iptw-" + hashlib.sha1(name.encode()).hexdigest()[:9]


def parse_entries(saved: str, name: str) -> Tuple[str, ...]:
    """The entries of ``name`` in ``ipset save`` text (first word of each ``add``)."""
    prefix = f"add {name} "
    return tuple(
        line[len(prefix) :].split(" ", 1)[0]
        for line in saved.splitlines()
        if line.startswith(prefix)
    )
