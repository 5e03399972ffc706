"""The getopt emulation: an iptables argv (or one restore line) -> :class:`Command`.

Emulates ``do_parse`` of iptables (xshared.c): getopt_long in RETURN_IN_ORDER
mode over the core options merged with the options of every loaded extension (newest
first, abbreviations allowed), implicit protocol matches, ``!`` handling and the
post-parse checks. The rule it parsed becomes a :class:`RuleSpec` in ``build``.

The entry point is :func:`parse_command`; ``listing.format_listing_line`` prints a rule.

``Command.extra`` items:

* ``"warning:<text>"`` - a line the real binary prints on stderr although it succeeds
  (no trailing newline), e.g. ``Warning: weird character in interface ...``;
* ``"wait_interval:<usec>"`` (``-W``), ``"modprobe:<path>"`` (``-M``);
* ``"skip"`` with ``op == "nop"`` - a restore line iptables-restore ignores (``-6`` in
  iptables-restore, ``-4`` in ip6tables-restore).

``Command.rules`` holds every rule a spec expands to (``-s a,b -d c`` gives one rule
per source/destination pair, sources outer); ``Command.rule`` is ``rules[0]``.
``RuleSpec.kernel_refusal`` is the strerror of a refusal that does not depend on the
chain (then ``valid_tables`` is empty too).

Parsed commands are memoised on (argv, family, backend, restore, prog, version): a
repeated restore of the same payload costs almost nothing. A memoised rule that jumps
to a user chain is only reused while ``ctx.chain_exists`` still says yes; rules with
``-m set`` are never memoised.
"""

from __future__ import annotations

import bisect
import re
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

from . import matches as _m  # noqa: F401  (registers the match modules)
from . import targets as _t  # noqa: F401  (registers the target modules)
from .build import build_rules
from .errors import BadArgument, ParameterProblem, Raw, VersionProblem
from .ext import MATCHES, TARGETS, Cursor, Ext, ExtInst, RuleBuild
from .model import Command, ParseContext, RuleSpec
from .names import KNOWN_MATCHES, KNOWN_TARGETS, TABLES, VERDICTS
from .options import CORE_LONG_OPTIONS, CORE_SHORT_OPTIONS
from .release import release_of
from .values import (
    parse_addresses,
    parse_iface,
    parse_protocol,
    proto_match_name,
    strtoui,
)

__all__ = ["parse_command"]

# the core options: letter -> has_arg (0 none / 1 required / 2 optional), and long name
# -> (letter, has_arg); one table with the production check of rule arguments
_SHORT: Dict[str, int] = CORE_SHORT_OPTIONS
_LONG: Dict[str, Tuple[str, int]] = CORE_LONG_OPTIONS
_LONG_NAMES = tuple(_LONG)
# sorted, so an abbreviation's candidates are one bisect away (a -p tcp --dport lookup
# misses here first, before the tcp match is loaded)
_LONG_SORTED = tuple(sorted(_LONG_NAMES))

_CMD_OTHERS = {"L": "Z", "Z": "L", "S": "Z"}  # command -> command it may combine with

# generic_opt_check: option -> commands it is illegal with ('x')
_OPT_CHARS = ("n", "s", "d", "p", "j", "v", "x", "i", "o", "0", "c", "f")
_ILLEGAL: Dict[str, str] = {
    "A": "nx0",
    "I": "nx0",
    "R": "nx0",
    "D": "nx0c",
    "Dnum": "nsdpjxio0cf",
    "C": "nx0c",
    "L": "sdpjiocf",
    "F": "nsdpjxio0cf",
    "Z": "nsdpjxio0cf",
    "N": "nsdpjxio0cf",
    "X": "nsdpjxio0cf",
    "P": "nsdpjxio0f",
    "E": "nsdpjxio0cf",
    "S": "nsdpjxio0cf",
}
_ILLEGAL_SETS: Dict[str, FrozenSet[str]] = {k: frozenset(v) for k, v in _ILLEGAL.items()}
_EMPTY: FrozenSet[str] = frozenset()
_INVERTIBLE = frozenset("sdpiof")
_WHOLE_TOKEN = frozenset("sdpjio")
_SPACE_RE = re.compile(r"\s")


def _too_long(name: str) -> bool:
    """strlen(name) >= XT_EXTENSION_MAXNAMELEN (29), in bytes."""
    if len(name) >= 29:
        return True
    return not name.isascii() and len(name.encode("utf-8", "surrogateescape")) >= 29


_IN_HOOKS = frozenset({"PREROUTING", "INPUT"})
_OUT_HOOKS = frozenset({"POSTROUTING", "OUTPUT"})


# From 1.8.11 the parser's messages name an option by its long name (measured).
_LONG_NAME = {
    letter: name
    for name, (letter, _arity) in reversed(list(CORE_LONG_OPTIONS.items()))
    if name not in ("src", "dst")
}


def _opt_name(c: str, long_names: bool = False) -> str:
    if long_names or c == "0":
        return f"--{_LONG_NAME[c]}"
    return f"-{c}"


class _Parser:
    """State of one do_parse run."""

    __slots__ = (
        "cacheable",
        "chain",
        "cmd",
        "cmds",
        "counters",
        "ctx",
        "cur",
        "dst",
        "extra",
        "goto",
        "iniface",
        "invert",
        "invflags",
        "jumpto",
        "leftover",
        "loaded",
        "long_names",
        "newname",
        "options",
        "outiface",
        "policy",
        "proto_used",
        "protocol_given",
        "rb",
        "rulenum",
        "src",
        "table",
        "table_set",
        "target_ext",
        "verbose",
        "wait",
    )

    def __init__(self, args: Sequence[str], ctx: ParseContext) -> None:
        self.ctx = ctx
        self.cur = Cursor(list(args))
        self.table = "filter"
        self.table_set = False
        self.cmd: Optional[str] = None  # first command letter
        self.cmds: List[str] = []
        self.chain: Optional[str] = None
        self.rulenum: Optional[int] = None
        self.newname: Optional[str] = None
        self.long_names = release_of(ctx.version).long_option_names
        self.policy: Optional[str] = None
        self.options: Dict[str, bool] = {}
        self.invflags: Dict[str, bool] = {}
        self.invert = False
        self.src: Optional[str] = None
        self.dst: Optional[str] = None
        self.iniface: Optional[str] = None
        self.outiface: Optional[str] = None
        self.jumpto: Optional[str] = None
        self.goto = False
        self.target_ext: Optional[Ext[Any]] = None
        self.counters: Optional[Tuple[int, int]] = None
        self.verbose = 0
        self.wait: Optional[float] = None
        self.extra: List[str] = []
        self.proto_used = False
        self.rb = RuleBuild(ctx, "filter", None)
        self.loaded: List[ExtInst] = []  # matches and target in load order
        self.protocol_given = False
        self.leftover = False
        self.cacheable = True

    # ------------------------------------------------------------ helpers
    def add_command(self, c: str) -> None:
        if self.invert:
            raise ParameterProblem("unexpected '!' flag")
        for prev in self.cmds:
            if _CMD_OTHERS.get(c) != prev:
                raise ParameterProblem(f"Cannot use -{c} with -{prev}")
        self.cmds.append(c)
        if self.cmd is None:
            self.cmd = c

    def set_option(self, c: str) -> None:
        if c in self.options:
            if self.long_names:
                raise ParameterProblem(f"multiple {_opt_name(c, True)} options not allowed")
            raise ParameterProblem(f"multiple -{c} flags not allowed")
        self.options[c] = True
        if self.invert:
            if c not in _INVERTIBLE:
                raise ParameterProblem(f"cannot have ! before -{c}")
            self.invflags[c] = True

    def rulenumber(self, tok: str) -> int:
        v = strtoui(tok, 1, 0x7FFFFFFF)
        if v is None:
            raise ParameterProblem(f"Invalid rule number `{tok}'")
        return v

    def load_match(self, name: str) -> ExtInst:
        fam = self.ctx.family
        ext = MATCHES.get(name)
        if ext is not None:
            ext = ext.variant(fam)
        if ext is None or fam not in ext.families:
            if name in KNOWN_MATCHES[fam]:
                raise ParameterProblem(f"fake: match '{name}' is not emulated")
            raise ParameterProblem(f"Couldn't load match `{name}':No such file or directory\n")
        if ext.reads_host:
            self.cacheable = False
        for li in self.loaded:
            if li.ext is ext:
                li.completed = True
        inst = ExtInst(ext, self.rb)
        self.rb.matches.append(inst)
        self.loaded.append(inst)
        return inst

    # ------------------------------------------------------------ option lookup
    def find_long(self, name: str) -> Tuple[Optional[str], int, Optional[ExtInst]]:
        """getopt_long lookup: (core letter or ext option name, has_arg, instance)."""
        core = _LONG.get(name)
        if core is not None:
            return core[0], core[1], None
        for inst in reversed(self.loaded):
            o = inst.ext.opts.get(name)
            if o is not None:
                return name, 1 if o.arg else 0, inst
        # abbreviations
        cands: List[Tuple[str, int, Optional[ExtInst]]] = []
        at = bisect.bisect_left(_LONG_SORTED, name)
        while at < len(_LONG_SORTED) and _LONG_SORTED[at].startswith(name):
            c, ha = _LONG[_LONG_SORTED[at]]
            at += 1
            if not any(x[2] is None and x[0] == c for x in cands):
                cands.append((c, ha, None))
        for inst in reversed(self.loaded):
            for on, o in inst.ext.opts.items():
                dup = any(
                    x[2] is inst and inst.ext.opts[x[0]].id == o.id
                    for x in cands
                    if x[2] is not None
                )
                if on.startswith(name) and not dup:
                    cands.append((on, 1 if o.arg else 0, inst))
        if len(cands) == 1:
            return cands[0]
        return None, 0, None

    # ------------------------------------------------------------ main loop
    def run(self) -> None:
        cur = self.cur
        argv = cur.argv
        n = len(argv)
        while cur.i < n:
            tok = argv[cur.i]
            cur.i += 1
            if tok == "--":
                # getopt stops at "--": the rest is left over
                self.leftover = cur.i < n
                break
            if tok.startswith("--"):
                self.long_option(tok)
            elif tok.startswith("-") and len(tok) > 1:
                self.short_cluster(tok)
            else:
                self.positional(tok)
                continue

    def positional(self, tok: str) -> None:
        if tok == "!":
            if self.invert:
                raise ParameterProblem("multiple consecutive ! not allowed")
            self.invert = True
            return
        raise BadArgument(tok)

    def long_option(self, tok: str) -> None:
        body = tok[2:]
        name, eq, val = body.partition("=")
        key, has_arg, inst = self.find_long(name)
        if key is None:
            if self.try_load_proto():
                self.cur.i -= 1
                return
            raise ParameterProblem(f'unknown option "{tok}"')
        arg: Optional[str] = None
        if has_arg == 1:
            if eq:
                arg = tok if inst is None and key in _WHOLE_TOKEN else val
            elif self.cur.i < len(self.cur.argv):
                arg = self.cur.take()
            else:
                raise ParameterProblem(f'option "{tok}" requires an argument')
        elif has_arg == 2:
            arg = val if eq else None
        elif eq:
            raise ParameterProblem(f'unknown option "{tok}"')
        if inst is None:
            self.core(key, arg)
        else:
            inst.feed(key, arg or "", self.invert, self.rb, self.cur)
            self.invert = False

    def short_cluster(self, tok: str) -> None:
        if len(tok) == 2:
            # fast path: "-X" alone
            c = tok[1]
            ha = _SHORT.get(c)
            if ha is not None and c != "b":
                if ha == 1:
                    cur = self.cur
                    if cur.i >= len(cur.argv):
                        raise ParameterProblem(f'option "-{c}" requires an argument')
                    first = cur.argv[cur.i]
                    cur.i += 1
                    self.core(c, first)
                else:
                    self.core(c, None)
                return
        k = 1
        while k < len(tok):
            c = tok[k]
            k += 1
            ha = _SHORT.get(c)
            if c == "b":
                raise ParameterProblem('Unknown arg "(null)"')
            if ha is None:
                if self.try_load_proto():
                    self.cur.i -= 1
                    return
                raise ParameterProblem(f'unknown option "-{c}"')
            arg: Optional[str] = None
            if ha == 1:
                if k < len(tok):
                    # -s -d -p -j -i -o read argv[optind - 1]: the whole token
                    arg = tok if c in _WHOLE_TOKEN else tok[k:]
                elif self.cur.i < len(self.cur.argv):
                    arg = self.cur.take()
                else:
                    raise ParameterProblem(f'option "-{c}" requires an argument')
                k = len(tok)
            elif ha == 2 and k < len(tok):
                arg = tok[k:]
                k = len(tok)
            self.core(c, arg)

    def try_load_proto(self) -> bool:
        """command_default: load the protocol's match once and re-parse the option."""
        if self.rb.proto is None or self.proto_used:
            return False
        name = proto_match_name(self.rb.proto, self.ctx.family)
        if name is None:
            return False
        fam = self.ctx.family
        ext = MATCHES.get(name)
        if ext is not None:
            ext = ext.variant(fam)
        if ext is None or fam not in ext.families:
            if name in KNOWN_MATCHES[fam]:
                raise ParameterProblem(f"fake: match '{name}' is not emulated")
            return False
        self.proto_used = True
        self.load_match(name)
        return True

    # ------------------------------------------------------------ core options
    def core(self, c: str, arg: Optional[str]) -> None:
        cur = self.cur
        if c == "m":
            assert arg is not None
            if self.invert:
                raise ParameterProblem("unexpected ! flag before --match")
            self.load_match(arg)
        elif c in "ACDRIN":
            assert arg is not None
            self.add_command(c)
            if c == "N":
                _check_new_chain(arg, self.ctx)
            self.chain = arg
            if c == "I":
                self.rulenum = self.rulenumber(cur.take()) if cur.has_arg() else 1
            elif c == "D":
                if cur.has_arg():
                    self.rulenum = self.rulenumber(cur.take())
            elif c == "R":
                if not cur.has_arg():
                    raise ParameterProblem("-R requires a rule number")
                self.rulenum = self.rulenumber(cur.take())
        elif c in "LSZ":
            self.add_command(c)
            if arg is not None:
                self.chain = arg
            elif cur.has_arg():
                self.chain = cur.take()
            if cur.has_arg():
                self.rulenum = self.rulenumber(cur.take())
        elif c in "FX":
            self.add_command(c)
            if arg is not None:
                self.chain = arg
            elif cur.has_arg():
                self.chain = cur.take()
        elif c == "E":
            assert arg is not None
            self.add_command(c)
            self.chain = arg
            if not cur.has_arg():
                raise ParameterProblem("-E requires old-chain-name and new-chain-name")
            self.newname = cur.take()
        elif c == "P":
            assert arg is not None
            self.add_command(c)
            self.chain = arg
            if not cur.has_arg():
                raise ParameterProblem("-P requires a chain and a policy")
            self.policy = cur.take()
        elif c == "h":
            raise _Done("h")
        elif c == "V":
            raise _Done("V")
        elif c == "p":
            assert arg is not None
            self.set_option("p")
            proto = parse_protocol(arg)
            if proto == 0 and self.invert:
                raise ParameterProblem("rule would never match protocol")
            self.rb.proto = proto
            self.rb.proto_inv = self.invert
            if self.ctx.family == 6 and proto in (43, 44, 51, 60) and not self.invert:
                self.rb.warnings.append(
                    f"Warning: never matched protocol: {arg.lower()}. use extension match instead."
                )
        elif c in "sd":
            assert arg is not None
            self.set_option(c)
            if c == "s":
                self.src = arg
            else:
                self.dst = arg
        elif c in "io":
            assert arg is not None
            self.set_option(c)
            name = parse_iface(arg, self.rb.warnings, self.ctx.version)
            if c == "i":
                self.iniface = name
            else:
                self.outiface = name
        elif c == "f":
            if self.ctx.family == 6:
                raise ParameterProblem("`-f' is not supported in IPv6, use -m frag instead")
            self.set_option("f")
        elif c == "j":
            assert arg is not None
            self.set_option("j")
            self.jump(arg, goto=False)
        elif c == "g":
            assert arg is not None
            self.set_option("j")
            self.jump(arg, goto=True)
        elif c == "t":
            assert arg is not None
            if self.invert:
                raise ParameterProblem("unexpected ! flag before --table")
            if self.ctx.restore and self.table_set:
                raise ParameterProblem(f"The -t option cannot be used in {self.ctx.prog}.\n")
            self.table = arg
            self.table_set = True
        elif c == "n" or c == "x" or c == "0":
            self.set_option(c)
        elif c == "v":
            if not self.verbose:
                self.set_option("v")
            self.verbose += 1
        elif c == "w":
            if self.ctx.restore:
                raise ParameterProblem("You cannot use `-w' from iptables-restore")
            w = arg
            if w is None and cur.has_arg():
                w = cur.take()
            if w is None:
                self.wait = -1.0
            else:
                iv = _scan_int(w)
                if iv is None:
                    raise ParameterProblem("wait seconds not numeric")
                self.wait = float(iv)
        elif c == "W":
            if self.ctx.restore:
                raise ParameterProblem("You cannot use `-W' from iptables-restore")
            w = arg
            if w is None and cur.has_arg():
                w = cur.take()
            if w is None:
                raise ParameterProblem("wait interval value required")
            iv = _scan_int(w)
            if iv is None or iv < 0:
                raise ParameterProblem("wait interval not numeric")
            if iv > 999999:
                raise ParameterProblem(f"too long usec wait {iv} > 999999 usec")
            self.extra.append(f"wait_interval:{iv}")
            self.rb.warnings.append("Ignoring deprecated --wait-interval option.")
        elif c == "c":
            assert arg is not None
            self.set_option("c")
            pc = arg
            bc: Optional[str] = None
            comma = arg.find(",", 1)
            if comma >= 0:
                bc = arg[comma + 1 :]
            elif cur.has_arg():
                bc = cur.take()
            if bc is None:
                raise ParameterProblem("-c requires packet and byte counter")
            p = _scan_int(pc, unsigned=True)
            name = _opt_name("c", self.long_names)
            if p is None:
                raise ParameterProblem(f"{name} packet counter not numeric")
            b = _scan_int(bc, unsigned=True)
            if b is None:
                raise ParameterProblem(f"{name} byte counter not numeric")
            self.counters = (p, b)
        elif c == "M":
            self.extra.append(f"modprobe:{arg}")
        elif c in "46":
            fam = int(c)
            if self.ctx.family != fam:
                if self.ctx.restore:
                    raise _Done("skip")
                raise Raw(2, _try_line(self.ctx))
        else:  # pragma: no cover - every letter of the optstring is handled
            raise ParameterProblem(f'unknown option "-{c}"')
        self.invert = False

    def jump(self, name: str, goto: bool) -> None:
        if len(name) < 1:
            raise ParameterProblem("Invalid target name (too short)")
        if _too_long(name):
            raise ParameterProblem(f"Invalid target name `{name}' (28 chars max)")
        if _SPACE_RE.search(name):
            raise ParameterProblem(f"Invalid target name `{name}'")
        self.jumpto = name
        self.goto = goto
        if goto:
            return
        fam = self.ctx.family
        ext = TARGETS.get(name)
        if ext is not None and fam in ext.families:
            if ext.reads_host:
                self.cacheable = False
            inst = ExtInst(ext, self.rb)
            self.rb.target = inst
            self.loaded.append(inst)
            self.target_ext = ext
        elif name in KNOWN_TARGETS[fam]:
            raise ParameterProblem(f"fake: target '{name}' is not emulated")


class _Done(Exception):
    """-h / -V stop parsing at once; -4/-6 in restore skip the line."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _try_line(ctx: ParseContext) -> str:
    prog = ctx.prog
    return f"Try `{prog} -h' or '{prog} --help' for more information.\n"


def _scan_int(s: str, unsigned: bool = False) -> Optional[int]:
    """sscanf %i / %llu: leading blanks, sign, digits; trailing garbage ignored."""
    i = 0
    n = len(s)
    while i < n and s[i] in " \t\n\r\f\v":
        i += 1
    j = i
    if j < n and s[j] in "+-":
        j += 1
    k = j
    while k < n and s[k].isdigit() and s[k].isascii():
        k += 1
    if k == j:
        return None
    if unsigned:
        v = int(s[j:k])
        return ((1 << 64) - v) % (1 << 64) if s[i:j] == "-" else v
    return int(s[i:k])


def _check_new_chain(name: str, ctx: ParseContext) -> None:
    if len(name.encode("utf-8", "surrogateescape")) >= 29:
        raise ParameterProblem(f"chain name `{name}' too long (must be under 29 chars)")
    if name[:1] in ("-", "!"):
        raise ParameterProblem(f"chain name not allowed to start with `{name[0]}'")
    if name == "" or name in VERDICTS or name in KNOWN_TARGETS[4] | KNOWN_TARGETS[6]:
        raise ParameterProblem("chain name may not clash with target name")
    if any(ch.isspace() for ch in name) and not (
        ctx.backend == "nft" and release_of(ctx.version).nft_any_chain_name
    ):
        raise ParameterProblem(f"Invalid chain name `{name}'")


def _table_error(ctx: ParseContext, table: str) -> VersionProblem:
    if ctx.backend == "nft":
        return VersionProblem(f"table '{table}' does not exist")
    prog = "ip6tables" if ctx.family == 6 else "iptables"
    return VersionProblem(
        f"can't initialize {prog} table `{table}': Table does not exist (do you need to insmod?)"
    )


_RULE_CMDS = frozenset("ACDRI")

# Parsed commands keyed by (argv, family, backend, restore, prog, version). A command is
# only reused when nothing outside the argv influenced it (no ipset lookup) and its jump
# target chain still exists; restoring the same payload again is then nearly free.
_CACHE: Dict[Tuple[object, ...], Command] = {}
# Bounded: at 100k distinct rules an unbounded cache held 3x the kernel state itself.
_CACHE_MAX = 32_768


def parse_command(args: Sequence[str], ctx: ParseContext) -> Command:
    """Parse an iptables argv tail (or one restore line with ``-t TABLE`` prepended).

    Raises the exceptions of ``_errors``; warnings printed before a parameter problem
    (e.g. ``Warning: never matched protocol``) are folded into a :class:`Raw` error
    when not parsing a restore line.
    """
    key = (tuple(args), ctx.family, ctx.backend, ctx.restore, ctx.prog, ctx.version)
    hit = _CACHE.get(key)
    if hit is not None:
        r = hit.rule
        if r is None or r.jump_chain is None or ctx.chain_exists(hit.table, r.jump_chain):
            return hit
    p = _Parser(args, ctx)
    try:
        cmd = _parse(p, ctx)
        if p.cacheable:
            if len(_CACHE) >= _CACHE_MAX:
                _CACHE.clear()
            _CACHE[key] = cmd
        return cmd
    except (ParameterProblem, BadArgument) as e:
        if ctx.restore:
            e.warnings = tuple(p.rb.warnings)
            raise
        if not p.rb.warnings:
            raise
        tag = "nf_tables" if ctx.backend == "nft" else "legacy"
        if isinstance(e, ParameterProblem):
            text = f"{ctx.prog} v{ctx.version} ({tag}): {e.message}\n"
        else:
            text = f"Bad argument `{e.token}'\n"
        warn = "".join(w + "\n" for w in p.rb.warnings)
        raise Raw(2, warn + text + _try_line(ctx)) from e


def _parse(p: _Parser, ctx: ParseContext) -> Command:
    try:
        p.run()
    except _Done as d:
        if d.what == "skip":
            return Command(op="nop", table=p.table, extra=("skip",))
        return Command(op=d.what, table=p.table)

    rb = p.rb
    # -- post-parse checks, in do_parse order
    if p.table == "nat" and (p.policy == "DROP" or p.jumpto == "DROP"):
        raise ParameterProblem(
            '\nThe "nat" table is not intended for filtering, the use of DROP is therefore '
            "inhibited.\n\n"
        )
    rb.table = p.table
    rb.chain = p.chain
    finals: List[Tuple[ExtInst, str, str]] = []
    for inst in rb.matches:
        s, lst = inst.ext.final(inst.st, rb)
        inst.fcheck()
        finals.append((inst, s, lst))
    tfinal = ("", "")
    if rb.target is not None:
        tfinal = rb.target.ext.final(rb.target.st, rb)
        rb.target.fcheck()
    if p.leftover:
        raise ParameterProblem("unknown arguments found on commandline")
    if p.cmd is None:
        raise ParameterProblem("no command specified")
    if p.invert:
        raise ParameterProblem("nothing appropriate following !")
    fam = ctx.family
    saddrs = parse_addresses(p.src, fam) if p.src is not None else None
    daddrs = parse_addresses(p.dst, fam) if p.dst is not None else None
    if ((saddrs and len(saddrs) > 1) or (daddrs and len(daddrs) > 1)) and (
        p.invflags.get("s") or p.invflags.get("d")
    ):
        raise ParameterProblem("! not allowed with multiple source or destination IP addresses")
    cmd = p.cmd
    if (
        cmd == "R"
        and ((saddrs and len(saddrs) > 1) or (daddrs and len(daddrs) > 1))
        and not release_of(ctx.version).replace_takes_first_address
    ):
        raise ParameterProblem("Replacement rule does not specify a unique address")
    key = "Dnum" if (cmd == "D" and p.rulenum is not None) else cmd
    illegal = _ILLEGAL_SETS.get(key, _EMPTY)
    for oc in _OPT_CHARS if not illegal.isdisjoint(p.options) else ():
        if oc in p.options and oc in illegal:
            ok = any(oc not in _ILLEGAL.get(other, "") for other in p.cmds[1:])
            if not ok:
                name = _opt_name(oc, p.long_names)
                raise ParameterProblem(f"Illegal option `{name}' with this command")
    if p.chain is not None and _too_long(p.chain):
        raise ParameterProblem(f"chain name `{p.chain}' too long (must be under 29 chars)")
    if cmd == "E" and p.long_names and p.newname is not None and _too_long(p.newname):
        # 1.8.9 renamed to a 29-character name; 1.8.11 refuses it like -N
        raise ParameterProblem(f"chain name `{p.newname}' too long (must be under 29 chars)")
    if cmd in _RULE_CMDS and p.chain is not None:
        # 1.8.9: "Can't use -o with INPUT" and a blank line; 1.8.11: the long name, no blank
        end = "" if p.long_names else "\n"
        # 1.8.7's legacy checks this after opening the table (it is created: measured)
        opens = (
            p.table if ctx.backend == "legacy" and release_of(ctx.version).old_messages else None
        )
        if p.chain in _IN_HOOKS and "o" in p.options:
            raise ParameterProblem(
                f"Can't use {_opt_name('o', p.long_names)} with {p.chain}{end}", opens_table=opens
            )
        if p.chain in _OUT_HOOKS and "i" in p.options:
            raise ParameterProblem(
                f"Can't use {_opt_name('i', p.long_names)} with {p.chain}{end}", opens_table=opens
            )

    # -- handle creation: the table must exist
    if p.table not in TABLES:
        raise _table_error(ctx, p.table)

    extra: List[str] = list(p.extra)
    extra.extend("warning:" + w for w in rb.warnings)

    rules: Tuple[RuleSpec, ...] = ()
    if cmd in _RULE_CMDS and not (cmd == "D" and p.rulenum is not None):
        # target resolution (legacy: iptc_is_chain / load target; nft: chain lookup)
        jump_chain: Optional[str] = None
        if p.jumpto is not None and (p.goto or rb.target is None):
            name = p.jumpto
            if p.goto or name not in VERDICTS:
                if not ctx.chain_exists(p.table, name):
                    if ctx.backend == "nft":
                        raise ParameterProblem(f"Chain '{name}' does not exist")
                    if p.goto:
                        raise ParameterProblem(f"goto '{name}' is not a chain")
                    raise ParameterProblem(
                        f"Couldn't load target `{name}':No such file or directory\n"
                    )
                jump_chain = name
        rules = build_rules(p, finals, tfinal, saddrs, daddrs, jump_chain)

    return Command(
        op=cmd,
        table=p.table,
        chain=p.chain,
        rulenum=p.rulenum,
        rule=rules[0] if rules else None,
        new_name=p.newname,
        policy=p.policy,
        counters=p.counters,
        numeric="n" in p.options,
        verbose=p.verbose > 0,
        exact="x" in p.options,
        line_numbers="0" in p.options,
        zero_after_list=cmd == "L" and "Z" in p.cmds,
        wait=p.wait,
        extra=tuple(extra),
        rules=rules,
    )
