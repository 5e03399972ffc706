"""The fake's kernel state: tables, chains and rules, with counters and references.

A leaf: the kernel model (``_kernel``) changes this state, the printers (``_save``)
read it, and neither is imported here. Rules are identified by
:attr:`RuleSpec.text`; every chain keeps a ``text -> count`` index so ``-C`` is a dict
lookup and ``-D`` only searches when the rule exists. A table validates itself the
way each backend's kernel does at commit (hooks, loops).
"""

from __future__ import annotations

import dataclasses
from typing import Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

from .._rulespec.model import RuleSpec

__all__ = [
    "BUILTIN_CHAINS",
    "NFT_TABLE_ORDER",
    "Rule",
    "Chain",
    "Table",
    "MSG_NOCHAIN",
    "MSG_BADRULE",
]

BUILTIN_CHAINS: Dict[str, Tuple[str, ...]] = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}
# iptables-nft-save walks its built-in table list in this order.
NFT_TABLE_ORDER: Tuple[str, ...] = ("mangle", "security", "raw", "filter", "nat")
POLICIES = ("ACCEPT", "DROP")
# Rules after one of these (no match, standard verdict) are never reached, and the
# legacy kernel does not check them against the hooks of their chain.
_UNCONDITIONAL = frozenset({"-j ACCEPT", "-j DROP", "-j RETURN"})

# Targets iptables-nft 1.8.9 translates to native nf_tables expressions whose hook
# restriction the kernel applies only to the base chain the rule is in.
_NFT_NATIVE_TARGETS = frozenset({"TCPMSS"})

# iptables-nft -Z CHAIN N on a missing chain: errno is left 0 ("Incompatible with this
# kernel") when this built-in chain of the table exists, else ENOENT (measured on 1.8.9).
_NFT_ZERO_ERRNO0 = {
    "filter": "OUTPUT",
    "security": "OUTPUT",
    "raw": "PREROUTING",
    "mangle": "PREROUTING",
    "nat": "PREROUTING",
}

MSG_NOCHAIN = "No chain/target/match by that name."
MSG_BADRULE = "Bad rule (does a matching rule exist in that chain?)."
_EINVAL = "Invalid argument"


class Rule:
    """One rule in a chain: its spec and its counters."""

    __slots__ = ("spec", "pkts", "bytes")

    def __init__(self, spec: RuleSpec, pkts: int = 0, bytes_: int = 0) -> None:
        self.spec = spec
        self.pkts = pkts
        self.bytes = bytes_

    def clone(self) -> Rule:
        return Rule(self.spec, self.pkts, self.bytes)


class Chain:
    """A built-in or user chain with an index of its rules by text."""

    __slots__ = (
        "name",
        "builtin",
        "policy",
        "pkts",
        "bytes",
        "rules",
        "counts",
        "jumps",
        "cons",
        "uncond",
        "live",
        "native",
    )

    def __init__(
        self, name: str, builtin: bool, policy: Optional[str] = None, live: bool = True
    ) -> None:
        self.name = name
        # nft creates built-in chains lazily (first rule, -P, -F CHAIN or a restore
        # declaration) and `-X` deletes the empty ACCEPT ones; legacy ones always exist.
        self.live = live
        self.builtin = builtin
        self.policy = policy if builtin else None
        self.pkts = 0
        self.bytes = 0
        self.rules: List[Rule] = []
        self.counts: Dict[str, int] = {}
        self.jumps: Dict[str, int] = {}  # user chain -> rules of this chain jumping there
        self.cons: Dict[FrozenSet[str], int] = {}  # valid_hooks sets of this chain's rules
        self.uncond = 0  # rules whose text is an unconditional verdict
        self.native = 0  # rules whose target iptables-nft turns into native expressions

    def copy(self) -> Chain:
        c = Chain(self.name, self.builtin, self.policy, self.live)
        c.pkts, c.bytes = self.pkts, self.bytes
        c.rules = list(self.rules)  # Rule objects are replaced, never mutated, while staged
        c.counts = dict(self.counts)
        c.jumps = dict(self.jumps)
        c.cons = dict(self.cons)
        c.uncond = self.uncond
        c.native = self.native
        return c

    def has(self, text: str) -> bool:
        return self.counts.get(text, 0) > 0

    def find(self, text: str) -> int:
        if not self.counts.get(text, 0):
            return -1
        for i, r in enumerate(self.rules):
            if r.spec.text == text:
                return i
        return -1  # pragma: no cover - index and list disagree

    def find_spec(self, spec: RuleSpec) -> int:
        """The first rule -C finds for ``spec`` (see :attr:`RuleSpec.cmp_text`)."""
        if spec.cmp_text is None:
            i = self.find(spec.text)
            if i >= 0:
                return i
        key = spec.cmp_text or spec.text
        for i, r in enumerate(self.rules):
            if (r.spec.cmp_text or r.spec.text) == key:
                return i
        return -1


class Table:
    """One table: its chains (creation order) and the jump reference counts."""

    __slots__ = ("name", "chains", "refcount", "seq")

    def __init__(self, name: str, seq: int = 0, *, lazy: bool = False) -> None:
        self.name = name
        self.chains: Dict[str, Chain] = {}
        for c in BUILTIN_CHAINS[name]:
            self.chains[c] = Chain(c, True, "ACCEPT", live=not lazy)
        self.refcount: Dict[str, int] = {}
        self.seq = seq

    def copy(self) -> Table:
        t = Table.__new__(Table)
        t.name = self.name
        t.chains = {k: v.copy() for k, v in self.chains.items()}
        t.refcount = dict(self.refcount)
        t.seq = self.seq
        return t

    # ---- ordering ---------------------------------------------------------------
    def builtin_chains(self) -> List[Chain]:
        return [self.chains[c] for c in BUILTIN_CHAINS[self.name]]

    def user_chains(self) -> List[Chain]:
        names = sorted(
            (n for n, c in self.chains.items() if not c.builtin),
            key=lambda s: s.encode("utf-8", "surrogateescape"),
        )
        return [self.chains[n] for n in names]

    def ordered_chains(self) -> List[Chain]:
        return self.builtin_chains() + self.user_chains()

    def refs(self, name: str) -> int:
        return self.refcount.get(name, 0)

    # ---- rule bookkeeping ---------------------------------------------------------
    def _account(self, chain: Chain, spec: RuleSpec, delta: int) -> None:
        t = spec.text
        n = chain.counts.get(t, 0) + delta
        if n:
            chain.counts[t] = n
        else:
            chain.counts.pop(t, None)
        j = spec.jump_chain
        if j is not None:
            n = chain.jumps.get(j, 0) + delta
            if n:
                chain.jumps[j] = n
            else:
                chain.jumps.pop(j, None)
            n = self.refcount.get(j, 0) + delta
            if n:
                self.refcount[j] = n
            else:
                self.refcount.pop(j, None)
        h = spec.valid_hooks
        if spec.target in _NFT_NATIVE_TARGETS:
            chain.native += delta
        if h is not None:
            n = chain.cons.get(h, 0) + delta
            if n:
                chain.cons[h] = n
            else:
                chain.cons.pop(h, None)
        if t in _UNCONDITIONAL:
            chain.uncond += delta

    def insert(self, chain: Chain, index: Optional[int], rule: Rule) -> None:
        if index is None:
            chain.rules.append(rule)
        else:
            chain.rules.insert(index, rule)
        self._account(chain, rule.spec, 1)

    def pop(self, chain: Chain, index: int) -> Rule:
        rule = chain.rules.pop(index)
        self._account(chain, rule.spec, -1)
        return rule

    def replace(self, chain: Chain, index: int, rule: Rule) -> Rule:
        old = chain.rules[index]
        self._account(chain, old.spec, -1)
        chain.rules[index] = rule
        self._account(chain, rule.spec, 1)
        return old

    def flush(self, chain: Chain) -> None:
        for j, n in chain.jumps.items():
            m = self.refcount.get(j, 0) - n
            if m:
                self.refcount[j] = m
            else:
                self.refcount.pop(j, None)
        chain.rules = []
        chain.counts = {}
        chain.jumps = {}
        chain.cons = {}
        chain.uncond = 0
        chain.native = 0

    def rename(self, old: str, new: str) -> None:
        chain = self.chains[old]
        chain.name = new
        # a renamed chain keeps its place (nft lists chains in creation order)
        self.chains = {(new if k == old else k): v for k, v in self.chains.items()}
        for ch in self.chains.values():
            if not ch.jumps.get(old):
                continue
            for i, r in enumerate(ch.rules):
                if r.spec.jump_chain == old:
                    self.replace(ch, i, Rule(_retarget(r.spec, old, new), r.pkts, r.bytes))

    # ---- hook / loop validation --------------------------------------------------------
    def _effective(self, chain: Chain, legacy: bool) -> Tuple[List[str], List[FrozenSet[str]]]:
        if not legacy and chain.native:
            # iptables-nft turns some targets (TCPMSS) into native expressions that the
            # kernel only checks in the base chain holding the rule; the matches of
            # such a rule are still checked everywhere (both verified)
            native: List[FrozenSet[str]] = []
            for r in chain.rules:
                h = _hooks_beyond_base(r.spec)
                if h is not None:
                    native.append(h)
            return list(chain.jumps), native
        if legacy and chain.uncond:
            edges: List[str] = []
            cons: List[FrozenSet[str]] = []
            for r in chain.rules:
                s = r.spec
                if s.jump_chain is not None:
                    edges.append(s.jump_chain)
                if s.valid_hooks is not None:
                    cons.append(s.valid_hooks)
                if s.text in _UNCONDITIONAL:
                    break
            return edges, cons
        return list(chain.jumps), list(chain.cons)

    def nft_first_error(self) -> Optional[str]:
        """The error nf_tables' own walk meets first (rules in order, jumps followed
        depth first up to 16 levels): a hook violation can win over a loop."""
        budget = [200_000]
        for hook in BUILTIN_CHAINS[self.name]:
            err = _nft_walk(self, self.chains[hook], hook, 0, budget)
            if err is not None or budget[0] < 0:
                return err
        return None

    def validate(self, legacy: bool) -> Optional[str]:
        """What the kernel says about the table as a whole: None, "EINVAL" or "ELOOP"."""
        hooks: Dict[str, Set[str]] = {}
        eff: Dict[str, Tuple[List[str], List[FrozenSet[str]]]] = {}

        def effective(name: str) -> Tuple[List[str], List[FrozenSet[str]]]:
            e = eff.get(name)
            if e is None:
                e = self._effective(self.chains[name], legacy)
                eff[name] = e
            return e

        for hook in BUILTIN_CHAINS[self.name]:
            hooks.setdefault(hook, set()).add(hook)
            on_path: Set[str] = {hook}
            seen: Set[str] = {hook}
            stack: List[Tuple[str, Iterator[str]]] = [(hook, iter(effective(hook)[0]))]
            while stack:
                name, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    stack.pop()
                    on_path.discard(name)
                    continue
                if nxt not in self.chains:
                    continue
                if nxt in on_path:
                    return "ELOOP"
                if nxt in seen:
                    continue
                seen.add(nxt)
                on_path.add(nxt)
                hooks.setdefault(nxt, set()).add(hook)
                stack.append((nxt, iter(effective(nxt)[0])))
        for name, hs in hooks.items():
            for cons in effective(name)[1]:
                if not hs <= cons:
                    return "EINVAL"
        return None


def _nft_walk(t: Table, chain: Chain, hook: str, depth: int, budget: List[int]) -> Optional[str]:
    if depth >= 16:  # NFT_JUMP_STACK_SIZE: a loop ends here
        return "ELOOP"
    for r in chain.rules:
        budget[0] -= 1
        if budget[0] < 0:
            return None
        s = r.spec
        h = s.valid_hooks if depth == 0 else _hooks_beyond_base(s)
        if h is not None and hook not in h:
            return "EINVAL"
        if s.jump_chain is not None:
            nxt = t.chains.get(s.jump_chain)
            if nxt is not None:
                err = _nft_walk(t, nxt, hook, depth + 1, budget)
                if err is not None:
                    return err
    return None


def _hooks_beyond_base(spec: RuleSpec) -> Optional[FrozenSet[str]]:
    """The hooks nft enforces for a rule reached through a jump: for a native target
    (TCPMSS) only those of its matches (verified: ``-m owner ... -j TCPMSS`` reached
    from PREROUTING is refused, ``-p tcp -j TCPMSS`` is not)."""
    if spec.target in _NFT_NATIVE_TARGETS:
        return spec.match_hooks
    return spec.valid_hooks


def _retarget(spec: RuleSpec, old: str, new: str) -> RuleSpec:
    text = spec.text
    for flag in ("-j", "-g"):
        suffix = f"{flag} {old}"
        if text == suffix:
            text = f"{flag} {new}"
            break
        if text.endswith(" " + suffix):
            text = text[: -len(suffix)] + f"{flag} {new}"
            break
    listing = spec.listing
    if listing[0] == old:
        listing = (new,) + listing[1:]
    return dataclasses.replace(
        spec,
        text=text,
        jump_chain=new,
        target=new if spec.target == old else spec.target,
        listing=listing,
    )


def _strerror(kind: str, backend: str) -> str:
    if kind == "ELOOP":
        return "Too many links" if backend == "nft" else "Too many levels of symbolic links"
    return _EINVAL


def _zero_chain(c: Chain, keep_rules: bool = False) -> None:
    """Zero a chain's counters; 1.8.7's nft ``-Z CHAIN`` leaves its rules' (measured).

    A rule with counters is replaced either way: that is what a later ``-Z CHAIN N`` of
    the same restore crashes on, on every release (measured with ``-c``).
    """
    c.rules = [
        r
        if (r.pkts == 0 and r.bytes == 0)
        else Rule(r.spec, *((r.pkts, r.bytes) if keep_rules else ()))
        for r in c.rules
    ]
    c.pkts = c.bytes = 0
