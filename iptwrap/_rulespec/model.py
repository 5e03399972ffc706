"""The contract between the fake's command-line parser and its kernel model.

``_cmdline.parse_command`` turns an ``iptables``/``ip6tables`` argv tail (or one
``iptables-restore`` line, tokenised) into a :class:`Command`; the kernel model
(``_kernel``) executes it against in-memory state. The parser knows syntax and
canonical forms; the kernel knows tables, chains, rules, references and hooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, FrozenSet, Optional, Tuple

__all__ = ["ParseContext", "RuleSpec", "Command"]


@dataclass(frozen=True)
class ParseContext:
    """What the parser may know about the world while it parses one command."""

    prog: str  # "iptables", "ip6tables", "iptables-restore", "ip6tables-restore"
    family: int  # 4 or 6
    backend: str  # "nft" or "legacy"
    version: str  # "1.8.9"
    # (table, chain) -> does a user chain of that name exist? Used for -j/-g targets,
    # since real iptables resolves them while parsing (rc 2 "Chain 'X' does not exist").
    chain_exists: Callable[[str, str], bool]
    # ipset name -> exists? (``-m set --match-set NAME``); the fake has no sets by default.
    set_exists: Callable[[str], bool] = lambda _name: False
    # ipset name -> "inet"/"inet6", or None for a set type without family (list:set,
    # bitmap:port) or a missing set: iptables refuses a set of the other family.
    set_family: Callable[[str], Optional[str]] = lambda _name: None
    # nfacct object name -> exists? (``-m nfacct --nfacct-name NAME``); none by default.
    nfacct_exists: Callable[[str], bool] = lambda _name: False
    restore: bool = False  # parsing a line of iptables-restore input


@dataclass(frozen=True)
class RuleSpec:
    """One parsed rule, everything the kernel model and the printers need.

    ``text`` is exactly what ``iptables-save`` prints after ``-A CHAIN `` (empty for a
    rule with no match and no target). Two specs are the same rule iff their
    ``text`` is equal: this is the identity ``-C``/``-D`` use.
    """

    text: str
    target: Optional[str]  # "ACCEPT", "DNAT", "MYCHAIN", ... or None (no -j/-g)
    goto: bool  # -g rather than -j
    jump_chain: Optional[str]  # user chain referenced by -j/-g, else None
    # Hooks (built-in chain names) in which this rule may run; None means any.
    # e.g. MASQUERADE -> {"POSTROUTING"}; -m owner -> {"OUTPUT","POSTROUTING"}.
    valid_hooks: Optional[FrozenSet[str]] = None
    # The part of ``valid_hooks`` that comes from the matches alone (None: any). nft
    # applies only this outside the base chain of a rule whose target it turns into
    # native expressions (TCPMSS).
    match_hooks: Optional[FrozenSet[str]] = None
    # Tables in which this rule may live; None means any (DNAT -> {"nat"}).
    valid_tables: Optional[FrozenSet[str]] = None
    # The -L -n -v columns for this rule, without counters: (target, prot, opt, in,
    # out, source, destination, extra) e.g. ("ACCEPT", "6", "--", "*", "*",
    # "0.0.0.0/0", "0.0.0.0/0", "tcp dpt:22").
    listing: Tuple[str, str, str, str, str, str, str, str] = ("", "0", "--", "*", "*", "", "", "")
    # (added by the parser helper) strerror of a kernel refusal that does not depend on
    # the chain, e.g. "Invalid argument" for ``-p udp -m tcp`` on legacy or
    # "Numerical result out of range" for ``--limit 1/day`` on legacy. When set,
    # ``valid_tables`` is also the empty set.
    kernel_refusal: Optional[str] = None
    # What -C (and for nft -D) compares when it is not ``text``: ip6tables-legacy 1.8.9
    # -C masks out the data of most matches and of the target (a wrongly sized
    # comparison mask; its -D is not affected); ip6tables-nft 1.8.9 -C/-D ignore the
    # prefix lengths of -s/-d.
    cmp_text: Optional[str] = None
    # iptables-nft merged two port-only tcp/udp matches of the spec into one; from
    # 1.8.11 its -C and -D of such a spelling find nothing (measured)
    merged_ports: bool = False
    # 1.8.7 prints the -L protocol column "%-5s" with no space before the options
    # column (``udplite--``), and IPv6 rules with a blank options column
    list_wide_proto: bool = False
    # printed after the rule by iptables-save and -S, not part of its identity: 1.8.7's
    # iptables-nft ends a rule with no target with a space ("-A INPUT ")
    save_suffix: str = ""
    # the listing's extra text starts with a module that has no print function
    # (ip6tables-legacy's ``eui64``): it is printed right after the destination
    # column, with no space of its own
    list_glued: bool = False


@dataclass(frozen=True)
class Command:
    """One parsed iptables invocation (or restore line)."""

    op: str  # one of "A I D R C N X F Z E P S L h V"
    table: str = "filter"
    chain: Optional[str] = None
    rulenum: Optional[int] = None  # -I/-R/-D N/-S CHAIN N/-L CHAIN N/-Z CHAIN N
    rule: Optional[RuleSpec] = None  # -A/-I/-R/-C/-D with a spec
    new_name: Optional[str] = None  # -E OLD NEW
    policy: Optional[str] = None  # -P CHAIN POLICY
    counters: Optional[Tuple[int, int]] = None  # -c PKTS BYTES
    numeric: bool = False  # -n
    verbose: bool = False  # -v
    exact: bool = False  # -x
    line_numbers: bool = False  # --line-numbers
    zero_after_list: bool = False  # -L -Z
    wait: Optional[float] = None  # -w [N]: None = not given; -1.0 = wait forever
    extra: Tuple[str, ...] = field(default=())  # anything else the executor must see
    # (added by the parser helper) every rule the spec expands to: ``-s a,b -d c,d`` gives
    # one rule per (source, destination) pair, sources outer; ``rule`` is rules[0].
    rules: Tuple[RuleSpec, ...] = field(default=())
