"""The extension framework: how match (``-m``) and target (``-j``) modules plug into the parser.

Every emulated module is an :class:`Ext` subclass with a table of long options. The
command-line parser dispatches each option to the extension instance that owns it
(newest first, like getopt over xtables' merged option table), then asks every
instance for its ``iptables-save`` text, its ``-L -n`` text and its kernel
restrictions.
"""

from __future__ import annotations

from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Generic,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
)

from .errors import ParameterProblem
from .model import ParseContext
from .values import strtoui

__all__ = [
    "Opt",
    "STANDARD_VERDICTS",
    "Ext",
    "ExtInst",
    "RuleBuild",
    "Cursor",
    "Restriction",
    "MATCHES",
    "TARGETS",
    "register_match",
    "register_target",
    "ALL_HOOKS",
    "hooks",
]

ALL_HOOKS = frozenset({"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"})


def hooks(*names: str) -> FrozenSet[str]:
    return frozenset(names)


# (valid_hooks, valid_tables, kernel_refusal)
Restriction = Tuple[Optional[FrozenSet[str]], Optional[FrozenSet[str]], Optional[str]]
NO_RESTRICTION: Restriction = (None, None, None)


# An extension's parsed state: a small dataclass per extension (its fields are what
# the printers, the kernel checks and the tracer read).
S = TypeVar("S")

# The verdicts a target's "--queue-bypass"-like options and the -j column treat as built in.
STANDARD_VERDICTS = ("ACCEPT", "DROP", "RETURN", "QUEUE")


class Opt(NamedTuple):
    """One long option of an extension, as xtables' ``struct xt_option_entry`` has it.

    ``id`` names the option inside the extension (aliases share it: ``--dport`` and
    ``--destination-port``); ``arg`` is whether it takes an argument; ``inv`` whether a
    ``!`` may precede it.
    """

    id: str
    arg: bool = True
    inv: bool = False


class Cursor:
    """The argv being parsed and the index of the next unconsumed token."""

    __slots__ = ("argv", "i")

    def __init__(self, argv: Sequence[str], i: int = 0) -> None:
        self.argv = argv
        self.i = i

    def has_arg(self) -> bool:
        """xs_has_arg: a next token that is not an option and not ``!``."""
        if self.i >= len(self.argv):
            return False
        t = self.argv[self.i]
        return not (t.startswith("-") or t.startswith("!"))

    def peek(self) -> Optional[str]:
        return self.argv[self.i] if self.i < len(self.argv) else None

    def take(self) -> str:
        t = self.argv[self.i]
        self.i += 1
        return t


class RuleBuild:
    """Everything known about the rule being parsed (shared with extensions)."""

    __slots__ = (
        "ctx",
        "family",
        "backend",
        "table",
        "chain",
        "proto",
        "proto_inv",
        "warnings",
        "matches",
        "target",
    )

    def __init__(self, ctx: ParseContext, table: str, chain: Optional[str]) -> None:
        self.ctx = ctx
        self.family = ctx.family
        self.backend = ctx.backend
        self.table = table
        self.chain = chain
        self.proto: Optional[int] = None
        self.proto_inv = False
        self.warnings: List[str] = []
        self.matches: List[ExtInst] = []
        self.target: Optional[ExtInst] = None


class Ext(Generic[S]):
    """One match or target module. Subclasses fill ``name``, ``opts``, the hooks, and
    ``state``: the class of what one instance parses (a dataclass whose defaults are
    the module's own), made fresh for every ``-m``/``-j`` of a rule."""

    state: Type[S]

    name: str = ""
    save_name: str = ""  # name printed after -m/-j when it differs (NOTRACK)
    list_name: str = ""  # target column in -L when it differs (NOTRACK -> CT)
    is_target: bool = False
    families: Tuple[int, ...] = (4, 6)
    # long option -> its descriptor
    opts: Dict[str, Opt] = {}
    # option ids that may be given more than once
    multi: FrozenSet[str] = frozenset()
    # xtables_options_fcheck data: mandatory ids, id -> ids it excludes / requires
    mandatory: Tuple[str, ...] = ()
    excl: Dict[str, Tuple[str, ...]] = {}
    also: Dict[str, Tuple[str, ...]] = {}
    # the kernel's own limits when they depend on nothing parsed: the hooks and tables
    # the module registers for (None: any)
    only_hooks: Optional[FrozenSet[str]] = None
    only_tables: Optional[FrozenSet[str]] = None
    # the answer depends on objects of the host (ipsets, nfacct counters), which can
    # change between two commands: a rule using the module is never served from cache
    reads_host: bool = False

    def first_name(self, oid: str) -> str:
        """The first long option of ``opts`` with this id (cached per extension)."""
        cache: Optional[Dict[str, str]] = self.__dict__.get("_first")
        if cache is None:
            cache = {}
            for name, opt in self.opts.items():
                cache.setdefault(opt.id, name)
            self.__dict__["_first"] = cache
        return cache[oid]

    def variant(self, family: int) -> Ext[Any]:
        """The module ``-m``/``-j NAME`` loads in this family: itself, unless the two
        families ship different modules under one name (libipt_ah and libip6t_ah)."""
        return self

    def new_state(self, rb: RuleBuild) -> S:
        """A fresh state for one instance; ``init`` then sets what depends on the rule."""
        st = self.state()
        self.init(st, rb)
        return st

    def init(self, st: S, rb: RuleBuild) -> None:
        """Set the defaults that depend on the rule (family, protocol) in a fresh state."""

    def parse(self, st: S, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        raise NotImplementedError

    def final(self, st: S, rb: RuleBuild) -> Tuple[str, str]:
        """(save text, -L -n text), each starting with a space or empty."""
        return "", ""

    def restrict(self, st: S, rb: RuleBuild) -> Restriction:
        """(hooks, tables, kernel refusal) for this rule; by default the class's limits."""
        return self.only_hooks, self.only_tables, None

    # -- helpers for subclasses
    def err(self, msg: str) -> ParameterProblem:
        return ParameterProblem(msg)

    def mand(self, opt: str) -> ParameterProblem:
        return ParameterProblem(f'{self.name}: option "--{opt}" must be specified\n')

    def bad(self, opt: str, arg: str) -> ParameterProblem:
        return ParameterProblem(f'{self.name}: Bad value for "--{opt}" option: "{arg}"')

    def uint(self, opt: str, arg: str, lo: int = 0, hi: int = 0xFFFFFFFF) -> int:

        v = strtoui(arg, lo, hi)
        if v is None:
            raise ParameterProblem(
                f'{self.name}: bad value for option "--{opt}", or out of range ({lo}-{hi}).\n'
            )
        return v


class ExtInst:
    """One loaded instance of an extension inside a rule."""

    __slots__ = ("ext", "st", "seen", "completed")

    def __init__(self, ext: Ext[Any], rb: RuleBuild) -> None:
        self.ext = ext
        self.st: Any = ext.new_state(rb)
        self.seen: Dict[str, bool] = {}
        self.completed = False

    def fcheck(self) -> None:
        """xtables_options_fcheck: mandatory, "also requires" and exclusion checks."""
        ext = self.ext
        if not (ext.mandatory or ext.excl or ext.also):
            return
        first: Dict[str, str] = {}
        for name, opt in ext.opts.items():
            first.setdefault(opt.id, name)
        order = list(first)
        for name, opt in ext.opts.items():
            oid = opt.id
            if oid in ext.mandatory and oid not in self.seen:
                raise ParameterProblem(f'{ext.name}: option "--{name}" must be specified\n')
            if oid not in self.seen:
                continue
            for other in sorted(ext.also.get(oid, ()), key=order.index):
                if other not in self.seen:
                    raise ParameterProblem(
                        f'{ext.name}: option "--{name}" also requires "--{first[other]}".\n'
                    )
            for other in sorted(ext.excl.get(oid, ()), key=order.index):
                if other in self.seen:
                    raise ParameterProblem(
                        f'{ext.name}: option "--{name}" cannot be used together with '
                        f'"--{first[other]}".\n'
                    )

    def feed(self, opt: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        oid = self.ext.opts[opt].id
        can_inv = self.ext.opts[opt].inv
        name = self.ext.name
        opt = self.ext.first_name(oid)  # xtables names an option by its first table entry
        if oid in self.seen and oid not in self.ext.multi:
            raise ParameterProblem(f'{name}: option "--{opt}" can only be used once.\n')
        if inv and not can_inv:
            raise ParameterProblem(f'{name}: option "--{opt}" cannot be inverted.\n')
        self.seen[oid] = True
        self.ext.parse(self.st, oid, arg, inv, rb, cur)


MATCHES: Dict[str, Ext[Any]] = {}
TARGETS: Dict[str, Ext[Any]] = {}

E = TypeVar("E", bound="Ext[Any]")


def register_match(cls: Callable[[], E]) -> Callable[[], E]:
    inst = cls()
    MATCHES[inst.name] = inst
    return cls


def register_target(cls: Callable[[], E]) -> Callable[[], E]:
    inst = cls()
    TARGETS[inst.name] = inst
    return cls
