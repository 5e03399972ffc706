"""``IPTables``: the production client over the host's iptables binaries.

Every decision lives here, above the :class:`~iptwrap.Runner` seam: which binary,
which flags for which version, waiting on the xtables lock, retrying contention,
classifying failures. The runner only starts processes, so the same client runs
unchanged over the in-memory fake (``iptwrap.fake``) in unit tests.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import tenacity

from ._batch import Batch
from ._canonical import delete_takes_an_earlier_rule, repeats_a_match
from ._command import run_command
from ._dump import chain_specs
from ._errors import (
    AlreadyExistsError,
    IPTablesError,
    LockFileError,
    LockTimeoutError,
    NotFoundError,
    RestoreError,
    TableNotFoundError,
    VersionError,
    classify,
)
from ._hints import check_delete_chain, check_rule
from ._identity import Identity
from ._listing import (
    ChainPolicy,
    RuleCounters,
    chains_from_list_rules,
    counters_from_save,
    policy_from_save,
    rules_from_list_rules,
)
from ._lock import LockFileUnavailable, LockNotAcquired, hold_xtables_lock, lock_path
from ._log import log_retry
from ._monitor import monitor
from ._payload import (
    InvalidArgumentError,
    chain_name,
    check_payload,
    checked_table,
    restore_line,
    rule_tokens,
    table_name,
)
from ._retry import (
    Completed,
    StopAtDeadline,
    failure,
    lock_holder,
    log_retries,
    sleep_first,
)
from ._runner import Runner, SubprocessRunner
from ._settings import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_LOCK_TIMEOUT,
    ENSURE_LOCK_FILE_ENV,
    WAIT_INTERVAL_USEC,
    ArgvBuilder,
    Binaries,
    BufferLike,
    RetryPolicy,
    ensure_lock,
    ensure_lock_file_for,
    held_files,
)
from ._sync import DesiredChains, Jump, SyncResult, sync_chains, teardown_chains
from ._types import ChainLike, Mode, Protocol, RulePosition, TableLike
from ._version import BinaryInfo, Version, parse_version_output
from ._writer import Apply, command, one_table

__all__ = ["IPTables"]


class IPTables:
    """Drive ``iptables``/``ip6tables`` for one family, backend and network namespace.

    ``mode`` picks the binaries: ``"auto"`` runs ``iptables`` (whatever the host's
    alternatives point at), ``"nft"``/``"legacy"`` run ``iptables-nft``/``-legacy``.
    The version and backend are probed once, on first use, and gate the flags sent.
    ``netns`` runs every command in a network namespace: a name through ``ip netns
    exec NAME``, a path (``/proc/PID/ns/net``) through ``nsenter``. ``lock_file`` sets
    ``XTABLES_LOCKFILE`` for the children and is the file this client flocks itself
    when ``iptables-restore`` is too old to wait.

    Thread-safe: one client may be shared by threads. Check-then-act (``ensure_rule``,
    batch commits, sync) is serialised per (namespace, family) within the process and,
    for clients of the real binaries, across processes through an ``flock`` on
    ``/run/iptwrap.lock`` (``ensure_lock_file``; see :meth:`ensure_guard`).
    """

    def __init__(
        self,
        protocol: Protocol = Protocol.IPV4,
        *,
        mode: Union[Mode, str] = "auto",
        netns: Optional[str] = None,
        binaries: Optional[Binaries] = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT,
        retry: Optional[RetryPolicy] = None,
        runner: Optional[Runner] = None,
        lock_file: Optional[str] = None,
        ensure_lock_file: Union[str, bool, None] = None,
    ) -> None:
        self._protocol = Protocol(protocol)
        if mode not in ("auto", Mode.NFT, Mode.LEGACY, "nft", "legacy"):
            raise InvalidArgumentError(f"mode must be 'auto', 'nft' or 'legacy', not {mode!r}")
        self._requested_mode: Optional[Mode] = None if mode == "auto" else Mode(mode)
        if lock_timeout <= 0:
            raise InvalidArgumentError("lock_timeout must be positive")
        if call_timeout is not None and call_timeout <= 0:
            raise InvalidArgumentError("call_timeout must be positive or None")
        if runner is not None and netns is not None:
            raise InvalidArgumentError(
                "netns applies to the built-in SubprocessRunner; give it to your runner instead"
            )
        self._lock_file = lock_file or lock_path()
        self._ensure_lock_file = ensure_lock_file_for(ensure_lock_file, runner is None)
        # ensure_rule is serialised per target: clients of the same namespace share a
        # key, whoever built their runner; a caller's own runner is its own target.
        target: object = ("netns", netns) if runner is None else ("runner", id(runner))
        if runner is None:
            env = {"XTABLES_LOCKFILE": lock_file} if lock_file else None
            runner = SubprocessRunner(netns=netns, env=env)
        self._runner: Runner = runner
        self._netns = netns
        self._binaries = binaries or Binaries.for_mode(self._protocol, self._requested_mode)
        self._lock_timeout = float(lock_timeout)
        self._call_timeout = call_timeout
        self._retry = retry or RetryPolicy()
        self._info: Optional[BinaryInfo] = None
        self._identity: Optional[Identity] = None
        self._probe_lock = threading.Lock()
        self._ensure_key_base = (target, self._protocol)

    # ----------------------------------------------------------------- properties

    @property
    def protocol(self) -> Protocol:
        return self._protocol

    def is_ipv6(self) -> bool:
        return self._protocol is Protocol.IPV6

    @property
    def binaries(self) -> Binaries:
        return self._binaries

    @property
    def runner(self) -> Runner:
        return self._runner

    @property
    def lock_timeout(self) -> float:
        return self._lock_timeout

    @property
    def version(self) -> Version:
        """The iptables version, probed once with ``--version``."""
        return self._probe().version

    @property
    def mode(self) -> Mode:
        """The backend the binaries drive (``nft`` or ``legacy``), probed once."""
        return self._probe().mode

    @property
    def info(self) -> BinaryInfo:
        return self._probe()

    def present(self) -> bool:
        """True if iptables runs here and may read the rules (``-S INPUT`` of filter).

        Reporting a version is not enough: an unprivileged process gets one, then every
        other call fails with :class:`PermissionDeniedError`. (Kubernetes' ``Present``
        lists a chain too; filter's INPUT, unlike nat's, loads no NAT module on legacy.)
        """
        try:
            self._iptables("filter", ["-S", "INPUT"])
        except IPTablesError:
            return False
        return True

    def has_random_fully(self) -> bool:
        """True if MASQUERADE/SNAT accept ``--random-fully`` (iptables >= 1.6.2)."""
        return self._probe().has_random_fully

    # ----------------------------------------------------------------- chains

    def ensure_chain(self, table: TableLike, chain: ChainLike) -> bool:
        """Create ``chain`` if missing. Returns True if it already existed."""
        t, c = table_name(table), chain_name(chain)
        try:
            self._iptables(t, ["-N", c])
        except AlreadyExistsError:
            return True
        return False

    def flush_chain(self, table: TableLike, chain: ChainLike) -> None:
        self._iptables(table_name(table), ["-F", chain_name(chain)])

    def delete_chain(self, table: TableLike, chain: ChainLike) -> None:
        """Delete an empty, unreferenced user chain (``-X``)."""
        t, c = table_name(table), chain_name(chain)
        check_delete_chain(t, c)
        self._iptables(t, ["-X", c])

    def chain_exists(self, table: TableLike, chain: ChainLike) -> bool:
        t, c = table_name(table), chain_name(chain)
        try:
            # "-S CHAIN 1" prints at most one rule: cheap on a long chain, and
            # exit 1 "No chain/target/match by that name" when absent.
            self._iptables(t, ["-S", c, "1"])
        except NotFoundError:
            return False
        return True

    def list_chains(self, table: TableLike) -> List[str]:
        """Chain names: built-ins in hook order, then user chains as iptables sorts them."""
        out = self._iptables(table_name(table), ["-S"])
        return chains_from_list_rules(out)

    def rename_chain(self, table: TableLike, old: ChainLike, new: ChainLike) -> None:
        self._iptables(table_name(table), ["-E", chain_name(old), chain_name(new)])

    def set_policy(
        self,
        table: TableLike,
        chain: ChainLike,
        policy: str,
    ) -> None:
        """Set a built-in chain's policy (``ACCEPT`` or ``DROP``)."""
        if policy not in ("ACCEPT", "DROP"):
            raise InvalidArgumentError(f"policy must be 'ACCEPT' or 'DROP', not {policy!r}")
        self._iptables(table_name(table), ["-P", chain_name(chain), policy])

    def get_policy(self, table: TableLike, chain: ChainLike) -> Optional[ChainPolicy]:
        """The chain's policy and policy counters, or None if the table has no such chain."""
        out = self._save(table_name(table), counters=True)
        return policy_from_save(out, chain_name(chain))

    def zero_counters(
        self,
        table: TableLike,
        chain: Optional[ChainLike] = None,
        rule_number: Optional[int] = None,
    ) -> None:
        """``-Z``: zero the counters of the table, one chain, or one rule of it."""
        argv = ["-Z"]
        if chain is not None:
            argv.append(chain_name(chain))
            if rule_number is not None:
                argv.append(str(_rule_number(rule_number)))
        elif rule_number is not None:
            raise InvalidArgumentError("rule_number needs a chain")
        if rule_number is None and self._probe().zero_keeps_rule_counters():
            self._zero_rule_by_rule(table_name(table), argv[1:])
            return
        self._iptables(table_name(table), argv)

    def _zero_rule_by_rule(self, table: str, chain: List[str]) -> None:
        """``-Z [CHAIN]``, then ``-Z CHAIN N`` for every rule in one restore.

        For iptables-nft releases whose ``-Z CHAIN`` zeroes the policy counters but
        keeps the rules' (measured on 1.8.7), where ``-Z CHAIN N`` does zero a rule.
        The two go apart: ``-Z CHAIN`` then ``-Z CHAIN 1`` in one restore makes 1.8.7's
        iptables-nft-restore crash (SIGSEGV, measured).
        """
        with self.ensure_guard(table):  # the rule numbers stay true until the restore
            self._iptables(table, ["-Z", *chain])  # also the binary's "no such chain"
            saved = chain_specs(self._save(table, counters=False)).get(table, {})
            lines = [
                command("-Z", name, str(n))
                for name in (chain or list(saved))
                for n in range(1, len(saved.get(name, ())) + 1)
            ]
            if lines:
                self._restore([], one_table(table, lines), flush=False, counters=False)

    # ----------------------------------------------------------------- rules

    def ensure_rule(
        self,
        position: RulePosition,
        table: TableLike,
        chain: ChainLike,
        *args: str,
    ) -> bool:
        """Add the rule unless an identical one exists. Returns True if it existed.

        Identity is the kernel's (``iptables -C``), not a string compare: ``-p TCP
        --dport ssh`` finds ``-p tcp -m tcp --dport 22``.
        """
        position = RulePosition(position)
        t, c, tokens = table_name(table), chain_name(chain), self._rule(table, args)
        with self.ensure_guard(t, c):
            if self._rule_exists(t, c, tokens):
                return True
            self._iptables(t, [position.value, c, *tokens])
            return False

    @property
    def ensure_lock_file(self) -> Optional[str]:
        """The file flocked around check-then-act across processes (None: in-process only)."""
        return self._ensure_lock_file

    @contextlib.contextmanager
    def ensure_guard(self, table: str = "*", chain: str = "*") -> Iterator[None]:
        """Serialise a check-then-act (``ensure_rule``, a batch commit, a sync).

        Within the process: always, a re-entrant mutex per target (namespace or
        runner, and family). Across processes: an ``flock`` on
        :attr:`ensure_lock_file`, waited on for at most ``lock_timeout``. A client of
        the real binaries uses ``/run/iptwrap.lock`` (or ``$IPTWRAP_LOCK_FILE``) unless
        told ``ensure_lock_file=False``; over the fake or a caller's runner it locks no
        file unless given one. The xtables lock cannot do this: iptables holds it for
        one command, and iptables-nft ignores it. ``table`` and ``chain`` name what is
        guarded, for readers; the guard covers the whole target.
        """
        path = self._ensure_lock_file
        held = getattr(held_files, "paths", None)
        if held is None:
            held = held_files.paths = set()
        with ensure_lock(self._ensure_key_base):
            if path is None or path in held:
                yield
                return
            try:
                with hold_xtables_lock(path, self._lock_timeout):
                    held.add(path)
                    try:
                        yield
                    finally:
                        held.discard(path)
            except LockNotAcquired as exc:
                raise LockTimeoutError(["flock", path], None, message=str(exc)) from None
            except LockFileUnavailable as exc:
                raise LockFileError(
                    ["flock", path],
                    None,
                    message=f"{exc}; set ${ENSURE_LOCK_FILE_ENV} to a writable path, or "
                    "construct the client with ensure_lock_file=False to serialise "
                    "check-then-act within this process only",
                ) from None

    def append_rule(self, table: TableLike, chain: ChainLike, *args: str) -> None:
        t, tokens = table_name(table), self._rule(table, args)
        self._iptables(t, ["-A", chain_name(chain), *tokens])

    def insert_rule(self, table: TableLike, chain: ChainLike, position: int, *args: str) -> None:
        """Insert at 1-based ``position`` (``-I CHAIN N``)."""
        t, tokens = table_name(table), self._rule(table, args)
        self._iptables(t, ["-I", chain_name(chain), str(_rule_number(position)), *tokens])

    def rule_exists(self, table: TableLike, chain: ChainLike, *args: str) -> bool:
        return self._rule_exists(table_name(table), chain_name(chain), self._rule(table, args))

    def _rule(self, table: TableLike, args: Sequence[str]) -> List[str]:
        """The rule's tokens, checked: safe to send (rule_tokens), and none of the
        mistakes the binaries would refuse with an unhelpful message (_hints)."""
        tokens = rule_tokens(args)
        check_rule(6 if self.is_ipv6() else 4, table_name(table), tokens)
        return tokens

    def delete_rule(self, table: TableLike, chain: ChainLike, *args: str) -> bool:
        """Delete the first matching rule. A missing rule or chain is not an error.

        Returns True if a rule was deleted.
        """
        t, c, tokens = table_name(table), chain_name(chain), self._rule(table, args)
        info = self._probe()
        merged = info.check_misses_merged_matches() and repeats_a_match(tokens)
        if merged or info.compare_ignores_prefix(self.is_ipv6()):
            with self.ensure_guard(t, c):  # read the chain and delete as one step
                argv = self._exact_delete(t, c, tokens, by_number=merged)
                return argv is not None and self._delete(t, argv)
        return self._delete(t, ["-D", c, *tokens])

    def _delete(self, table: str, argv: List[str]) -> bool:
        try:
            self._iptables(table, argv)
        except NotFoundError:
            return False
        return True

    def _exact_delete(
        self, table: str, chain: str, tokens: List[str], *, by_number: bool = False
    ) -> Optional[List[str]]:
        """The ``-D`` that removes this rule where the binary's ``-D spec`` is not exact.

        ip6tables-nft's ``-D spec`` removes the first rule equal but for prefix lengths:
        right unless an earlier rule differs only in one. iptables-nft 1.8.11's finds
        nothing for a spelling whose matches it merged (``by_number``). Then the rule is
        deleted by its number, read from ``-S`` under the caller's guard. None: absent.
        """
        found = self._find_in_listing(table, chain, tokens)
        if found is None:
            return ["-D", chain, *tokens]  # unknowable here: the binary's answer
        index, rules = found
        if index < 0:
            return None
        if by_number or delete_takes_an_earlier_rule(rules, index):
            return ["-D", chain, str(index + 1)]
        return ["-D", chain, *tokens]

    def delete_rule_number(self, table: TableLike, chain: ChainLike, number: int) -> None:
        self._iptables(table_name(table), ["-D", chain_name(chain), str(_rule_number(number))])

    def list_rules(self, table: TableLike, chain: ChainLike) -> List[str]:
        """The chain's rules as ``iptables -S`` prints them (``-A CHAIN ...``)."""
        c = chain_name(chain)
        return rules_from_list_rules(self._iptables(table_name(table), ["-S", c]), c)

    def list_rules_with_counters(self, table: TableLike, chain: ChainLike) -> List[RuleCounters]:
        """The chain's rules with packet/byte counters, read from ``iptables-save -c``."""
        t, c = table_name(table), chain_name(chain)
        out = self._save(t, counters=True)
        if policy_from_save(out, c) is None:
            raise NotFoundError(
                [self._binaries.save, "-c", "-t", t],
                1,
                out,
                b"",
                message=f"no chain {c!r} in table {t!r}",
            )
        return counters_from_save(out, c)

    # ----------------------------------------------------------------- fast paths

    def batch(self, *, dry_run: bool = False, check: bool = False) -> Batch:
        """Collect mutations; on exit apply them in one ``iptables-restore --noflush``.

        ``with ipt.batch() as b: b.ensure_rule(...)``; then ``b.result`` says what was
        added, deleted or already present. See :class:`iptwrap.Batch`. ``dry_run``
        reads what the batch needs and applies nothing: ``b.result.payload`` is what
        would be sent; ``check`` also has ``iptables-restore --test`` read it.
        """
        return Batch(self, Apply(dry_run, check))

    def sync(
        self,
        prefix: str,
        chains: DesiredChains,
        jumps: Sequence[Jump] = (),
        *,
        dry_run: bool = False,
        check: bool = False,
    ) -> SyncResult:
        """Make the chains named ``prefix*`` exactly ``chains``; send only the difference.

        ``chains`` maps table -> chain -> list of rules (each a sequence of argv
        tokens). In each table named there (or in ``jumps``), chains with the prefix
        that are not in ``chains`` are deleted, and the chains the agent does not own
        hold exactly ``jumps`` among their rules that jump or go to an owned chain:
        others are removed, ``PREPEND`` jumps come first in the order given. See README.
        """
        return sync_chains(self, prefix, chains, jumps, Apply(dry_run, check))

    def teardown(self, prefix: str, *, dry_run: bool = False, check: bool = False) -> SyncResult:
        """Remove every chain named ``prefix*``, in every table, and every jump into one.

        The undo of :meth:`sync`: one ``iptables-save``, one restore. A second
        teardown sends nothing.
        """
        return teardown_chains(self, prefix, Apply(dry_run, check))

    def monitor(
        self,
        canary: ChainLike,
        tables: Sequence[TableLike],
        reload: Callable[[], object],
        interval: float,
        stop: threading.Event,
    ) -> None:
        """Kubernetes' ``Monitor``: until ``stop`` is set, ``reload`` after each flush of
        ``tables``, seen by a canary chain polled every ``interval`` s (:mod:`._monitor`)."""
        monitor(self, canary, tables, reload, interval, stop)

    def check_restore(self, data: bytes) -> None:
        """``iptables-restore --test --noflush``: raise as the restore would; apply nothing.

        What it catches differs by backend: see docs/batch-and-sync.md (dry runs).
        """
        self._restore(["--test"], data, flush=False, counters=False)

    # ----------------------------------------------------------------- save / restore

    def save(self, table: Optional[TableLike] = None, *, counters: bool = False) -> bytes:
        """``iptables-save [-c] [-t TABLE]`` output."""
        return self._save(None if table is None else table_name(table), counters=counters)

    def save_into(self, table: TableLike, buffer: BufferLike, *, counters: bool = False) -> None:
        """Append ``iptables-save -t TABLE`` to a bytearray or write it to a binary stream."""
        data = self._save(table_name(table), counters=counters)
        if isinstance(buffer, bytearray):
            buffer.extend(data)
        else:
            buffer.write(data)

    def restore(
        self,
        table: TableLike,
        data: bytes,
        *,
        flush: bool = True,
        counters: bool = False,
    ) -> None:
        """``iptables-restore -T TABLE``: apply the part of ``data`` for ``table``.

        ``flush=False`` adds ``--noflush`` (chains not declared keep their rules; a
        declared ``:CHAIN - [0:0]`` is still flushed). Atomic per ``COMMIT`` as the
        backend makes it.
        """
        self._restore(["-T", table_name(table)], data, flush=flush, counters=counters)

    def restore_all(self, data: bytes, *, flush: bool = True, counters: bool = False) -> None:
        """``iptables-restore`` of every table in ``data``."""
        self._restore([], data, flush=flush, counters=counters)

    # ----------------------------------------------------------------- internals

    def _probe(self) -> BinaryInfo:
        info = self._info
        if info is not None:
            return info
        with self._probe_lock:
            if self._info is None:
                self._info = self._probe_now()
            return self._info

    def _probe_now(self) -> BinaryInfo:
        argv = [self._binaries.iptables, "--version"]
        result = self._call(argv, None, self._call_timeout)
        if result.returncode != 0:
            raise classify(result.returncode, result.stderr)(
                argv, result.returncode, result.stdout, result.stderr
            )
        text = (result.stdout + result.stderr).decode("utf-8", "replace")
        try:
            version, mode = parse_version_output(text)
        except ValueError as exc:
            raise VersionError(argv, 0, result.stdout, result.stderr, message=str(exc)) from None
        if mode is None:
            mode = Mode.LEGACY  # before 1.8 there was only the legacy backend
        if self._requested_mode is not None and mode is not self._requested_mode:
            raise VersionError(
                argv,
                0,
                result.stdout,
                result.stderr,
                message=f"asked for the {self._requested_mode.value} backend, "
                f"but {self._binaries.iptables} is {mode.value}",
            )
        return BinaryInfo(version=version, mode=mode)

    def _wait_seconds(self, remaining: float) -> str:
        return str(max(1, math.ceil(remaining)))

    def _lock_args(self, info: BinaryInfo, remaining: float) -> List[str]:
        """The lock-waiting flags this version of ``iptables`` understands."""
        if info.has_wait_seconds:
            args = ["-w", self._wait_seconds(remaining)]
        elif info.has_wait:
            args = ["-w"]  # 1.4.20/21: waits without a bound; call_timeout bounds it
        else:
            return []
        if info.has_wait_interval:
            args += ["-W", WAIT_INTERVAL_USEC]
        return args

    def _iptables(self, table: str, args: Sequence[str]) -> bytes:
        info = self._probe()
        if args and args[0] == "-C" and not info.has_check:
            raise VersionError(
                [self._binaries.iptables, *args], None, message=f"iptables {info.version} has no -C"
            )

        def build(remaining: float) -> List[str]:
            return [self._binaries.iptables, *self._lock_args(info, remaining), "-t", table, *args]

        return self._with_retry(build, None).stdout

    def _rule_exists(self, table: str, chain: str, tokens: List[str]) -> bool:
        """Is the rule in the chain? The kernel's identity, by the cheapest exact way.

        ``-C`` where it exists and is right; where a release's ``-C`` is known to be
        wrong (:mod:`iptwrap._version`), a comparison that is not.
        """
        info = self._probe()
        ipv6 = self.is_ipv6()
        if not info.has_check:
            return self._rule_exists_by_listing(table, chain, tokens)
        if info.check_ignores_match_data(ipv6):
            return self._rule_exists_by_delete_test(table, chain, tokens)
        if info.compare_ignores_prefix(ipv6) or (
            info.check_misses_merged_matches() and repeats_a_match(tokens)
        ):
            found = self._find_in_listing(table, chain, tokens)
            if found is not None:
                return found[0] >= 0
        try:
            self._iptables(table, ["-C", chain, *tokens])
        except NotFoundError:
            return False
        return True

    @property
    def identity(self) -> Identity:
        """Rule identity for the probed release (see :mod:`iptwrap._identity`)."""
        identity = self._identity
        if identity is None:
            self._probe()  # before the lock: probing takes it too
            with self._probe_lock:
                if self._identity is None:
                    self._identity = Identity(self)
                identity = self._identity
        return identity

    def _canonical_line(self, table: str, chain: str, tokens: List[str]) -> Optional[str]:
        """``-A CHAIN spec`` as ``iptables -S`` prints it, or None if it cannot be told."""
        wanted = self.identity.text(table, chain, tuple(tokens))
        if wanted is None:
            return None
        return f"-A {chain} {wanted}" if wanted else f"-A {chain}"

    def _find_in_listing(
        self, table: str, chain: str, tokens: List[str]
    ) -> Optional[Tuple[int, List[str]]]:
        """(index of the rule in ``-S CHAIN``, or -1; that listing); None if unknowable."""
        line = self._canonical_line(table, chain, tokens)
        if line is None:
            return None
        try:
            rules = self.list_rules(checked_table(table), chain)
        except NotFoundError:  # no such chain (a missing table raises)
            return -1, []
        return (rules.index(line) if line in rules else -1), rules

    def _rule_exists_by_listing(self, table: str, chain: str, tokens: List[str]) -> bool:
        """Before 1.4.11 there is no ``-C``: compare against ``iptables -S CHAIN``.

        The spec is canonicalised by the parser that imitates iptables-save, so
        ``-s 10.0.0.1`` still finds ``-s 10.0.0.1/32``. A spec it cannot read is
        compared verbatim.
        """
        found = self._find_in_listing(table, chain, tokens)
        if found is not None:
            return found[0] >= 0
        try:
            return f"-A {chain} {' '.join(tokens)}".rstrip() in self.list_rules(
                checked_table(table), chain
            )
        except NotFoundError:
            return False

    def _rule_exists_by_delete_test(self, table: str, chain: str, tokens: List[str]) -> bool:
        """``-D`` under ``iptables-restore --test``: the right comparison, nothing committed.

        For ip6tables-legacy, whose ``-C`` ignores match data while its ``-D`` does
        not (measured on 1.8.9); ``--test`` applies the transaction to the cached
        table and stops before the commit. One process, like ``-C``.
        """
        payload = one_table(table, [command("-D", chain, restore_line(tokens))])
        try:
            self._restore(["--test"], payload, flush=False, counters=False)
        except RestoreError as exc:
            # exit 1: "Bad rule (does a matching rule exist ...)", or a missing chain
            if isinstance(exc, TableNotFoundError):
                raise
            if exc.returncode == 1 or isinstance(exc, NotFoundError):
                return False
            raise
        return True

    def _save(self, table: Optional[str], *, counters: bool) -> bytes:
        argv = [self._binaries.save]
        if counters:
            argv.append("-c")
        if table is not None:
            argv += ["-t", table]
        # iptables-save takes no lock and has no -w.
        return self._with_retry(lambda _remaining: argv, None).stdout

    def _restore(self, extra: List[str], data: bytes, *, flush: bool, counters: bool) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidArgumentError("restore data must be bytes")
        payload = bytes(data)
        check_payload(payload)
        info = self._probe()
        base = [self._binaries.restore, *extra]
        if not flush:
            base.append("--noflush")
        if counters:
            base.append("--counters")

        def build(remaining: float) -> List[str]:
            if info.has_restore_wait:
                return [*base, "-w", self._wait_seconds(remaining)]
            return base

        self._with_retry(build, payload, hold_lock=not info.has_restore_wait)

    def _with_retry(
        self,
        build: ArgvBuilder,
        payload: Optional[bytes],
        *,
        hold_lock: bool = False,
    ) -> Completed:
        """Run until success, a non-lock failure, or the lock deadline passes."""
        deadline = time.monotonic() + self._lock_timeout
        policy = self._retry
        # The first attempt runs outside tenacity: most calls never contend, and the
        # fake's users make many thousands of calls.
        try:
            return self._once(build(self._lock_timeout), payload, self._lock_timeout, hold_lock)
        except LockTimeoutError as exc:
            if policy.attempts <= 1 or time.monotonic() >= deadline:
                raise
            log_retry(exc.argv, 1, policy.attempts, lock_holder(exc))
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(LockTimeoutError),
            stop=tenacity.stop_after_attempt(max(1, policy.attempts - 1))
            | StopAtDeadline(deadline),
            wait=tenacity.wait_random_exponential(
                multiplier=policy.initial_backoff, max=policy.max_backoff
            ),
            before=sleep_first(policy),
            before_sleep=log_retries(policy.attempts),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                remaining = max(deadline - time.monotonic(), 0.0)
                return self._once(build(remaining), payload, remaining, hold_lock)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(
        self, argv: List[str], payload: Optional[bytes], remaining: float, hold_lock: bool
    ) -> Completed:
        timeout = None if self._call_timeout is None else self._call_timeout + remaining
        if hold_lock:
            try:
                with hold_xtables_lock(self._lock_file, remaining):
                    result = self._call(argv, payload, timeout)
            except LockNotAcquired as exc:
                raise LockTimeoutError(argv, None, message=str(exc)) from None
        else:
            result = self._call(argv, payload, timeout)
        if result.returncode == 0:
            return result
        raise failure(argv, result, payload)

    def _call(
        self, argv: List[str], payload: Optional[bytes], timeout: Optional[float]
    ) -> Completed:
        return run_command(self._runner, argv, payload, timeout)

    def __repr__(self) -> str:
        where = f", netns={self._netns!r}" if self._netns else ""
        return f"IPTables({self._protocol.name}, binaries={self._binaries.iptables!r}{where})"


def _rule_number(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidArgumentError(f"rule numbers are integers from 1, not {n!r}")
    return n
