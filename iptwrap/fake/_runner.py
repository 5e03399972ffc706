"""``FakeRunner``: the in-memory stand-in for :class:`iptwrap._runner.SubprocessRunner`.

One runner is one host (one network namespace). It answers ``iptables``,
``ip6tables``, ``iptables-save``, ``ip6tables-save``, ``iptables-restore`` and
``ip6tables-restore`` (also their ``-nft``/``-legacy`` names and absolute paths) with
the exit code, stdout and stderr bytes real iptables gives, for the backend chosen
with ``mode`` (plain names) or by the name itself (``iptables-legacy`` always talks
to the legacy state, ``iptables-nft`` to the nft state, as on a real host where both
can hold tables at once).
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from .._rulespec.errors import (
    BadArgument,
    FakeError,
    KernelRefused,
    ParameterProblem,
    Raw,
    RuntimeProblem,
    VersionProblem,
)
from .._rulespec.model import Command, ParseContext
from .._rulespec.parser import parse_command
from .._rulespec.release import release_of
from .._runner import Result, RunnerTimeout
from ._faults import Faults
from ._ipset import IPSets, is_ipset
from ._kernel import Kernel
from ._restore import RestoreFailed, run_restore
from ._restore_args import BadOption, restore_options
from ._save import render_table, save_output
from ._state import BUILTIN_CHAINS

__all__ = ["FakeRunner", "ParserFn"]

ParserFn = Callable[[Sequence[str], ParseContext], Command]

_PROG_RE = re.compile(r"^(ip6?tables)(?:-(nft|legacy))?(?:-(save|restore))?$")
_LOCKFILE = "/run/xtables.lock"


class _Prog:
    """What argv[0] names."""

    def __init__(self, argv0: str, default_backend: str) -> None:
        base = os.path.basename(argv0)
        m = _PROG_RE.match(base)
        if m is None:
            raise FileNotFoundError(2, "No such file or directory", argv0)
        self.base = base
        self.short = m.group(1)  # iptables / ip6tables
        self.family = 6 if self.short == "ip6tables" else 4
        self.backend = m.group(2) or default_backend
        self.tool = m.group(3) or ""  # "", "save", "restore"


class FakeRunner:
    """An in-memory host running iptables 1.8.9 (or ``version``) with one backend."""

    def __init__(
        self, *, mode: str = "nft", version: str = "1.8.9", parse: Optional[ParserFn] = None
    ) -> None:
        """``parse`` replaces the rule engine's parser (the kernel model's own tests
        drive it with a stub that knows only a few spellings)."""
        if mode not in ("nft", "legacy"):
            raise ValueError(f"mode must be 'nft' or 'legacy', not {mode!r}")
        self._parse: ParserFn = parse or parse_command
        self.mode = mode
        self.version = version
        self.release = release_of(version)
        self.faults = Faults(mode)
        self.calls: List[Tuple[str, ...]] = []
        self._kernels: Dict[Tuple[str, int], Kernel] = {}
        self.ipsets = IPSets()
        # the host's nfacct accounting objects (``nfacct add NAME`` on a real host):
        # a rule naming one that is not here is refused, as the kernel refuses it
        self.nfacct_objects: Set[str] = set()
        # one command at a time, as the kernel applies them: an agent's threads (a
        # monitor beside its sync loop) may share one host
        self._serial = threading.RLock()

    # ---- state access (for tests and the lead's helpers) -------------------------------------
    def kernel(self, family: int = 4, backend: Optional[str] = None) -> Kernel:
        key = (backend or self.mode, family)
        k = self._kernels.get(key)
        if k is None:
            k = Kernel(family, key[0], self.version)
            self._kernels[key] = k
        return k

    def save_text(
        self, family: int = 4, *, counters: bool = False, backend: Optional[str] = None
    ) -> str:
        """``iptables-save`` output without the comment lines (does not log a call)."""

        k = self.kernel(family, backend)
        return "".join(render_table(t, counters=counters) for t in k.saved_tables())

    # ---- the Runner protocol -----------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        input: Optional[bytes] = None,
        timeout: Optional[float] = None,
    ) -> Result:
        with self._serial:
            return self._run(list(argv), input, timeout)

    def _run(self, argv: List[str], input: Optional[bytes], timeout: Optional[float]) -> Result:
        self.calls.append(tuple(argv))
        if not argv:
            raise ValueError("empty argv")
        if self.faults.is_missing(argv[0]):
            raise FileNotFoundError(2, "No such file or directory", argv[0])
        prog = None if is_ipset(argv[0]) else _Prog(argv[0], self.mode)
        if self.faults.take_timeout():
            raise RunnerTimeout(argv, timeout if timeout is not None else 0.0, b"", b"")
        failure = self.faults.take_failure()
        if failure is not None:
            return Result(argv, failure.returncode, failure.stdout, failure.stderr)
        if prog is None:
            rc, out, err = self.ipsets.run(argv, input, self._set_in_use, self._set_refs)
            return Result(argv, rc, out.encode("utf-8", "surrogateescape"), err.encode())
        return self._dispatch(prog, argv, input, timeout)

    # ---- ipset -------------------------------------------------------------------------------
    def _set_refs(self, name: str) -> int:
        """How many rules of any backend and family name the set (match or SET target)."""
        n = 0
        for k in self._kernels.values():
            text = "".join(render_table(t, counters=False) for t in k.saved_tables())
            words = text.split()
            for i, w in enumerate(words[:-1]):
                if w in ("--match-set", "--add-set", "--del-set") and words[i + 1] == name:
                    n += 1
        return n

    def _set_in_use(self, name: str) -> bool:
        return self._set_refs(name) > 0

    def inspect(self, argv: Sequence[str]) -> Result:
        """Run ``iptables-save`` for a test's own look at the host: not recorded in
        :attr:`calls`, and no armed fault is spent on it."""
        argv = list(argv)
        prog = _Prog(argv[0], self.mode)
        if prog.tool != "save":
            raise ValueError(f"inspect() runs the save command only, not {argv[0]!r}")
        with self._serial:
            return self._dispatch(prog, argv, None, None)

    def _dispatch(
        self, prog: _Prog, argv: List[str], input: Optional[bytes], timeout: Optional[float]
    ) -> Result:
        if prog.tool == "save":
            rc, out, err = self._save(prog, argv[1:])
        elif prog.tool == "restore":
            rc, out, err = self._restore(prog, argv, input, timeout)
        else:
            rc, out, err = self._iptables(prog, argv, timeout)
        if err and self.release.old_messages:
            err = self._blank_after_message(err)
        return Result(
            argv, rc, out.encode("utf-8", "surrogateescape"), err.encode("utf-8", "surrogateescape")
        )

    # ---- helpers ---------------------------------------------------------------------------------
    def _blank_after_message(self, err: str) -> str:
        """1.8.7: the messages whose format ended in a newline leave a blank line."""
        first, sep, rest = err.partition("\n")
        _, colon, message = first.partition("): ")
        if colon and self.release.blank_after(message):
            return first + "\n\n" + rest
        return err

    def _tag(self, backend: str) -> str:
        return "nf_tables" if backend == "nft" else "legacy"

    def _prefix(self, prog: str, backend: str) -> str:
        if not self.release.has("nft"):
            return f"{prog} v{self.version}"
        return f"{prog} v{self.version} ({self._tag(backend)})"

    def render(
        self, e: FakeError, *, prog: str, short: str, backend: str, line: Optional[int] = None
    ) -> Tuple[int, str, str]:
        """(returncode, stdout, stderr) for a refusal."""
        try_line = f"Try `{prog} -h' or '{prog} --help' for more information.\n"
        errline = f"Error occurred at line: {line}\n" if line is not None else ""
        if isinstance(e, ParameterProblem):
            return 2, "", f"{self._prefix(prog, backend)}: {e.message}\n{errline}{try_line}"
        if isinstance(e, BadArgument):
            return 2, "", f"Bad argument `{e.token}'\n{errline}{try_line}"
        if isinstance(e, VersionProblem):
            return (
                3,
                "",
                (
                    f"{self._prefix(prog, backend)}: {e.message}\n"
                    "Perhaps iptables or your kernel needs to be upgraded.\n"
                ),
            )
        if isinstance(e, RuntimeProblem):
            return 1, "", f"{short}: {e.message}\n"
        if isinstance(e, KernelRefused):
            if backend == "nft":
                return (
                    4,
                    "",
                    f"{self._prefix(short, backend)}:  {e.op} failed ({e.strerror}): {e.what}\n",
                )
            msg = f"{e.strerror}."
            if e.strerror == "Invalid argument":
                msg += " Run `dmesg' for more information."
            return 1, "", f"{short}: {msg}\n"
        if isinstance(e, Raw):
            return e.returncode, e.stdout, e.stderr
        return 1, "", f"{short}: {e}\n"  # pragma: no cover

    def _gated_parser(self, prog: str) -> ParserFn:
        """The parser, refusing options this ``version`` did not have yet."""
        parse = self._parse
        rel = self.release
        if rel.has("restore_wait"):
            return parse

        def gated(args: Sequence[str], ctx: ParseContext) -> Command:
            for i, a in enumerate(args):
                if a in ("-C", "--check") and not rel.has("check"):
                    raise ParameterProblem(f'unknown option "{a}"')
                if a in ("-w", "--wait") and not ctx.restore:
                    if not rel.has("wait"):
                        raise ParameterProblem(f'unknown option "{a}"')
                    if not rel.has("wait_seconds") and i + 1 < len(args) and args[i + 1].isdigit():
                        raise BadArgument(args[i + 1])
                if a in ("-W", "--wait-interval") and not rel.has("wait_interval"):
                    raise ParameterProblem(f'unknown option "{a}"')
                if a == "--random-fully":
                    raise ParameterProblem(f'unknown option "{a}"')
            return parse(args, ctx)

        return gated

    def _nfacct_exists(self, name: str) -> bool:
        return name in self.nfacct_objects

    def _with_sets(self, parse: ParserFn) -> ParserFn:
        """``parse`` with the host's ipsets visible (restore builds its own contexts)."""
        exists, family, nfacct = self.ipsets.exists, self.ipsets.family, self._nfacct_exists

        def parse_with_sets(args: Sequence[str], ctx: ParseContext) -> Command:
            return parse(
                args,
                dataclasses.replace(
                    ctx, set_exists=exists, set_family=family, nfacct_exists=nfacct
                ),
            )

        return parse_with_sets

    def _legacy_warning(self, prog: _Prog, backend: str, save: bool) -> str:
        if backend != "nft":
            return ""
        other = self._kernels.get(("legacy", prog.family))
        if other is None or not other.has_tables():
            return ""
        tool = f"{prog.short}-legacy-save" if save else f"{prog.short}-legacy"
        return f"# Warning: iptables-legacy tables present, use {tool} to see them\n"

    def _lock(
        self, wait: Optional[float], argv: Sequence[str], timeout: Optional[float]
    ) -> Optional[Tuple[int, str, str]]:
        """Legacy takes /run/xtables.lock; a held lock (fault) fails as the binary does."""
        if not self.faults.take_lock():
            return None
        if wait is not None and wait < 0:
            # -w without a number waits until the holder lets go
            if timeout is not None:
                raise RunnerTimeout(list(argv), timeout, b"", b"")
            return None
        if wait is None or wait == 0:
            return (
                4,
                "",
                (
                    "Another app is currently holding the xtables lock. "
                    "Perhaps you want to use the -w option?\n"
                ),
            )
        if timeout is not None and wait > timeout:
            raise RunnerTimeout(list(argv), timeout, b"", b"")
        return (
            4,
            "",
            (
                f"Can't lock {_LOCKFILE}: Resource temporarily unavailable\n"
                f"Another app is currently holding the xtables lock. "
                f"Stopped waiting after {int(wait)}s.\n"
            ),
        )

    # ---- iptables / ip6tables -----------------------------------------------------------------
    def _iptables(
        self, prog: _Prog, argv: Sequence[str], timeout: Optional[float]
    ) -> Tuple[int, str, str]:
        backend = prog.backend
        short = prog.short
        k = self.kernel(prog.family, backend)
        args = list(argv[1:])
        if args and args[0] in ("-V", "--version"):
            return 0, self._version_line(short, backend), ""

        def chain_exists(table: str, chain: str) -> bool:
            if table not in BUILTIN_CHAINS:
                return False
            # legacy resolves -j/-g with iptc_is_chain on a handle: the table gets
            # instantiated even when the target then turns out not to exist (verified)
            t = k.instantiate(table) if backend == "legacy" else k.peek(table)
            c = t.chains.get(chain)
            return c is not None and not c.builtin

        ctx = ParseContext(
            prog=short,
            family=prog.family,
            backend=backend,
            version=self.version,
            chain_exists=chain_exists,
            set_exists=self.ipsets.exists,
            set_family=self.ipsets.family,
            nfacct_exists=self._nfacct_exists,
        )
        try:
            cmd = self._gated_parser(short)(args, ctx)
        except FakeError as e:
            opened = getattr(e, "opens_table", None)
            if opened is not None and opened in BUILTIN_CHAINS:
                k.instantiate(opened)
            return self.render(e, prog=short, short=short, backend=backend)
        if cmd.op == "V":
            return 0, self._version_line(short, backend), ""
        if cmd.op == "h":
            if self.release.old_messages:
                return 0, _help_1_8_7(short, f"{short} v{self.version}", backend), ""
            return 0, _help(short, self._version_line(short, backend).rstrip("\n")), ""
        err = ""
        for x in cmd.extra:
            if x.startswith("warning:"):
                msg = x[len("warning:") :]
                if msg.startswith(" ") and not msg.startswith("  "):
                    msg = msg[1:]
                err += msg if msg.endswith("\n") else msg + "\n"
        if backend == "legacy":
            locked = self._lock(cmd.wait, argv, timeout)
            if locked is not None:
                return locked
        if cmd.op in ("L", "S"):
            err += self._legacy_warning(prog, backend, save=False)
        try:
            out = k.execute(cmd)
        except FakeError as e:
            rc, o, e_text = self.render(e, prog=short, short=short, backend=backend)
            return rc, o, err + e_text
        return 0, out, err

    def _version_line(self, prog: str, backend: str) -> str:
        if not self.release.has("nft"):
            return f"{prog} v{self.version}\n"
        return f"{prog} v{self.version} ({self._tag(backend)})\n"

    # ---- *-save ----------------------------------------------------------------------------
    def _save(self, prog: _Prog, args: Sequence[str]) -> Tuple[int, str, str]:
        backend = prog.backend
        k = self.kernel(prog.family, backend)
        name = prog.base if backend == "nft" else f"{prog.short}-save"
        counters = False
        table: Optional[str] = None
        i = 0
        while i < len(args):
            a = args[i]
            if a in ("-c", "--counters"):
                counters = True
            elif a in ("-t", "--table") or a.startswith("--table="):
                if "=" in a:
                    table = a.split("=", 1)[1]
                else:
                    i += 1
                    if i >= len(args):
                        return (
                            1,
                            "",
                            (
                                f"{name}: option requires an argument -- 't'\n"
                                f"Try `{name} -h' for more information.\n"
                            ),
                        )
                    table = args[i]
            elif a in ("-V", "--version"):
                return 0, self._version_line(name, backend), ""
            elif a in ("-h", "--help"):
                return 0, (f"Usage: {name} [-c] [-t table] [-M binary] [-f file]\n"), ""
            elif a in ("-M", "--modprobe", "-f", "--file"):
                i += 1
            elif a in ("-4", "-6"):
                pass
            else:
                opt = (
                    f"unrecognized option '{a}'"
                    if a.startswith("--")
                    else (f"invalid option -- '{a[1:2]}'")
                )
                return 1, "", (f"{name}: {opt}\nTry `{name} -h' for more information.\n")
            i += 1
        label = (
            f"{name} v{self.version} (nf_tables)"
            if backend == "nft" and self.release.has("nft")
            else f"{prog.short}-save v{self.version}"
        )
        warn = self._legacy_warning(prog, backend, save=True)
        if table is not None:
            if table not in BUILTIN_CHAINS:
                if backend == "nft":
                    return 1, "", f"Table `{table}' does not exist\n"
                return (
                    1,
                    "",
                    (
                        f"{self._prefix(prog.short + '-save', backend)}: Cannot initialize: "
                        "Table does not exist (do you need to insmod?)\n"
                    ),
                )
            t = k.instantiate(table) if backend == "legacy" else k.peek(table)
            tables = [t]
        else:
            tables = k.saved_tables()
        out = save_output(tables, counters=counters, label=label, ctime=time.ctime())
        return 0, out, warn

    # ---- *-restore --------------------------------------------------------------------------
    def _restore(
        self, prog: _Prog, argv: Sequence[str], data: Optional[bytes], timeout: Optional[float]
    ) -> Tuple[int, str, str]:
        backend = prog.backend
        k = self.kernel(prog.family, backend)
        name = prog.base if backend == "nft" else f"{prog.short}-restore"
        try:
            opts, action = restore_options(argv[1:], self.release.has("restore_wait"))
        except BadOption as e:
            # getopt's own message, under argv[0] as given; exit 1 (measured on 1.8.7,
            # 1.8.9 and 1.8.11, both backends)
            msg = (
                f"unrecognized option '{e.option}'"
                if e.option.startswith("--")
                else f"invalid option -- '{e.option[1:2]}'"
            )
            return 1, "", f"{argv[0]}: {msg}\nTry `{name} -h' for more information.\n"
        if action == "version":
            return 0, self._version_line(name, backend), ""
        if action == "help":
            return 0, _restore_usage(name), ""
        warn = ""
        if backend == "legacy" and opts.wait_interval:
            # legacy reads -W only as a companion of -w; from 1.8.9 it also says it
            # ignores it (measured: 1.8.7 does not)
            if self.release.legacy_restore_warns_wait_interval:
                warn = "Ignoring deprecated --wait-interval option.\n"
            if opts.wait is None:
                return 1, "", warn + "Option --wait-interval requires option --wait\n"
        if backend == "legacy":
            locked = self._lock(opts.wait, argv, timeout)
            if locked is not None:
                return locked[0], locked[1], warn + locked[2]
        if opts.files:
            try:
                with open(opts.files[0], "rb") as fh:
                    data = fh.read()
            except OSError as e:
                return 1, "", f"{warn}{name}: Can't open {opts.files[0]}: {e.strerror}\n"
        text = (data or b"").decode("utf-8", "surrogateescape")
        ctx_prog = f"{prog.short}-restore"

        def render(e: FakeError, line: Optional[int]) -> Tuple[int, str]:
            if isinstance(e, RuntimeProblem):
                if backend == "legacy":
                    return 1, f"{name}: line {line} failed\n"
                return 1, f"{name}: line {line} failed: {e.message}\n"
            rc, _o, err = self.render(e, prog=name, short=name, backend=backend, line=line)
            return rc, err

        notes: List[str] = []  # the lines' parse warnings, printed as they are read
        try:
            out = run_restore(
                k,
                text,
                opts,
                prog=name,
                ctx_prog=ctx_prog,
                parse=self._with_sets(self._gated_parser(ctx_prog)),
                render=render,
                notes=notes,
            )
        except RestoreFailed as e:
            return e.returncode, "", warn + "".join(notes) + e.stderr
        return 0, out, warn + "".join(notes)


def _restore_usage(name: str) -> str:
    return (
        f"Usage: {name} [-c] [-v] [-V] [-t] [-h] [-n] [-w secs] [-W usecs] [-T table] "
        "[-M command] [file]\n"
        "\t   [ --counters ]\n\t   [ --verbose ]\n\t   [ --version]\n\t   [ --test ]\n"
        "\t   [ --help ]\n\t   [ --noflush ]\n\t   [ --wait=<seconds>\n"
        "\t   [ --wait-interval=<usecs>\n\t   [ --table=<TABLE> ]\n"
        "\t   [ --modprobe=<command> ]\n"
    )


def _help(short: str, banner: str) -> str:
    text = _HELP.replace("{banner}", banner)
    if short != "iptables":
        text = text.replace("iptables -", f"{short} -")
    return text + "\n"


def _help_1_8_7(short: str, banner: str, backend: str) -> str:
    """1.8.7's ``-h``: no backend in the banner, ``-W`` listed, ``-c`` not (measured)."""
    text = _help(short, banner)
    text = text.replace("\n\nOptions:\n", "\nOptions:\n")
    text = text.replace(
        "  --line-numbers",
        "  --wait-interval -W [usecs]\twait time to try to acquire xtables lock\n"
        "\t\t\t\tdefault is 1 second\n  --line-numbers",
    )
    text = text.replace("--set-counters -c PKTS BYTES", "--set-counters PKTS BYTES")
    if backend == "nft":
        text = text.replace(f"\n       {short} -", f"\n\t{short} -")
        text = text.replace("\n            -X [chain]", "\n\t     -X [chain]")
        text = text.replace("\n            -E old-chain", "\n\t     -E old-chain")
        text = text.replace("[!] --protocol\t-p proto", "[!] --proto\t-p proto")
    else:
        text = text.replace("\t\t\t       jump to chain", " " * 30 + "jump to chain")
    return text


_HELP = (
    "{banner}\n"
    "\n"
    "Usage: iptables -[ACD] chain rule-specification [options]\n"
    "       iptables -I chain [rulenum] rule-specification [options]\n"
    "       iptables -R chain rulenum rule-specification [options]\n"
    "       iptables -D chain rulenum [options]\n"
    "       iptables -[LS] [chain [rulenum]] [options]\n"
    "       iptables -[FZ] [chain] [options]\n"
    "       iptables -[NX] chain\n"
    "       iptables -E old-chain-name new-chain-name\n"
    "       iptables -P chain target [options]\n"
    "       iptables -h (print this help information)\n"
    "\n"
    "Commands:\n"
    "Either long or short options are allowed.\n"
    "  --append  -A chain\t\tAppend to chain\n"
    "  --check   -C chain\t\tCheck for the existence of a rule\n"
    "  --delete  -D chain\t\tDelete matching rule from chain\n"
    "  --delete  -D chain rulenum\n"
    "\t\t\t\tDelete rule rulenum (1 = first) from chain\n"
    "  --insert  -I chain [rulenum]\n"
    "\t\t\t\tInsert in chain as rulenum (default 1=first)\n"
    "  --replace -R chain rulenum\n"
    "\t\t\t\tReplace rule rulenum (1 = first) in chain\n"
    "  --list    -L [chain [rulenum]]\n"
    "\t\t\t\tList the rules in a chain or all chains\n"
    "  --list-rules -S [chain [rulenum]]\n"
    "\t\t\t\tPrint the rules in a chain or all chains\n"
    "  --flush   -F [chain]\t\tDelete all rules in  chain or all chains\n"
    "  --zero    -Z [chain [rulenum]]\n"
    "\t\t\t\tZero counters in chain or all chains\n"
    "  --new     -N chain\t\tCreate a new user-defined chain\n"
    "  --delete-chain\n"
    "            -X [chain]\t\tDelete a user-defined chain\n"
    "  --policy  -P chain target\n"
    "\t\t\t\tChange policy on chain to target\n"
    "  --rename-chain\n"
    "            -E old-chain new-chain\n"
    "\t\t\t\tChange chain name, (moving any references)\n"
    "\n"
    "Options:\n"
    "    --ipv4\t-4\t\tNothing (line is ignored by ip6tables-restore)\n"
    "    --ipv6\t-6\t\tError (line is ignored by iptables-restore)\n"
    "[!] --protocol\t-p proto\tprotocol: by number or name, eg. `tcp'\n"
    "[!] --source\t-s address[/mask][...]\n"
    "\t\t\t\tsource specification\n"
    "[!] --destination -d address[/mask][...]\n"
    "\t\t\t\tdestination specification\n"
    "[!] --in-interface -i input name[+]\n"
    "\t\t\t\tnetwork interface name ([+] for wildcard)\n"
    " --jump\t-j target\n"
    "\t\t\t\ttarget for rule (may load target extension)\n"
    "  --goto      -g chain\n"
    "\t\t\t       jump to chain with no return\n"
    "  --match\t-m match\n"
    "\t\t\t\textended match (may load extension)\n"
    "  --numeric\t-n\t\tnumeric output of addresses and ports\n"
    "[!] --out-interface -o output name[+]\n"
    "\t\t\t\tnetwork interface name ([+] for wildcard)\n"
    "  --table\t-t table\ttable to manipulate (default: `filter')\n"
    "  --verbose\t-v\t\tverbose mode\n"
    "  --wait\t-w [seconds]\tmaximum wait to acquire xtables lock before give up\n"
    "  --line-numbers\t\tprint line numbers when listing\n"
    "  --exact\t-x\t\texpand numbers (display exact values)\n"
    "[!] --fragment\t-f\t\tmatch second or further fragments only\n"
    "  --modprobe=<command>\t\ttry to insert modules using this command\n"
    "  --set-counters -c PKTS BYTES\tset the counter during insert/append\n"
    "[!] --version\t-V\t\tprint package version."
)
