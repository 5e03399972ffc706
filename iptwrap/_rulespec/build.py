"""A parsed rule to its :class:`RuleSpec`: the text iptables-save prints, the -L
columns, the hooks and tables it may run in, and what -C compares, for the backend,
family and release of the :class:`ParseContext`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, FrozenSet, List, Optional, Tuple

from . import matches as _m  # noqa: F401  (registers the match modules)
from . import targets as _t  # noqa: F401  (registers the target modules)
from .ext import ExtInst, RuleBuild
from .matches.ports import _PortMatch, _PortState
from .model import RuleSpec
from .release import release_of
from .values import (
    format_addr,
    proto_list_name,
    proto_save_name,
)

if TYPE_CHECKING:  # pragma: no cover
    from .parser import _Parser

__all__ = ["build_rules"]


def _merge_nft_ports(
    finals: List[Tuple[ExtInst, str, str]], rb: RuleBuild
) -> Tuple[List[Tuple[ExtInst, str, str]], bool]:
    """nft turns port-only tcp/udp matches into payload expressions and reads them back
    as one match per protocol. Also says whether two matches became one."""
    out: List[Tuple[ExtInst, str, str]] = []
    first: Dict[str, ExtInst] = {}
    first_st: Dict[str, _PortState] = {}  # the state of each of first's instances
    changed = merged = False
    for inst, s, lst in finals:
        name = inst.ext.name
        ext = inst.ext
        st = inst.st
        if name in ("tcp", "udp") and isinstance(ext, _PortMatch) and isinstance(st, _PortState):
            if ext.ports_only(st) and not ext.has_ports(st) and (st.sports_inv or st.dports_inv):
                # "! --dport 0:65535": a payload expression that reads back as nothing
                changed = True
                continue
            if ext.ports_only(st) and ext.has_ports(st):
                prev = first_st.get(name)
                if prev is None:
                    first[name] = inst
                    first_st[name] = st
                else:
                    if st.sports != (0, 0xFFFF):
                        prev.sports = st.sports
                        prev.sports_inv = st.sports_inv
                    if st.dports != (0, 0xFFFF):
                        prev.dports = st.dports
                        prev.dports_inv = st.dports_inv
                    changed = merged = True
                    continue
        out.append((inst, s, lst))
    if not changed:
        return finals, False
    return [
        (inst, *inst.ext.final(inst.st, rb)) if inst in first.values() else (inst, s, lst)
        for inst, s, lst in out
    ], merged


def build_rules(
    p: _Parser,
    finals: List[Tuple[ExtInst, str, str]],
    tfinal: Tuple[str, str],
    saddrs: Optional[List[Tuple[int, int]]],
    daddrs: Optional[List[Tuple[int, int]]],
    jump_chain: Optional[str],
) -> Tuple[RuleSpec, ...]:
    ctx = p.ctx
    rb = p.rb
    fam = ctx.family
    merged_ports = False
    rel = release_of(ctx.version)
    if ctx.backend == "nft" and rel.nft_merges_port_matches:
        finals, merged_ports = _merge_nft_ports(finals, rb)

    # restrictions
    vh: Optional[FrozenSet[str]] = None
    vt: Optional[FrozenSet[str]] = None
    refusal: Optional[str] = None
    insts = [f[0] for f in finals]
    if rb.target is not None:
        insts.append(rb.target)
    mh: Optional[FrozenSet[str]] = None
    for inst in insts:
        h, t, r = inst.ext.restrict(inst.st, rb)
        if h is not None:
            vh = h if vh is None else vh & h
            if inst is not rb.target:
                mh = h if mh is None else mh & h
        if t is not None:
            vt = t if vt is None else vt & t
        if refusal is None and r is not None:
            refusal = r
    if refusal is None and ctx.backend == "nft" and p.jumpto == "QUEUE" and not p.goto:
        refusal = "No such file or directory"  # nf_tables has no QUEUE verdict
    if ctx.backend == "nft" and rel.nft_mask_as_prefix:
        saddrs, daddrs = _leading_ones(saddrs, fam), _leading_ones(daddrs, fam)
        if refusal is None and any(
            m and not _ones(m, fam) for _a, m in (saddrs or []) + (daddrs or [])
        ):
            refusal = "Invalid argument"  # a mask with no leading one: an empty prefix
    inverted_any = any(
        p.invflags.get(flag) and addrs and any(m == 0 for _a, m in addrs)
        for flag, addrs in (("s", saddrs), ("d", daddrs))
    )
    if refusal is None and ctx.backend == "nft" and inverted_any:
        # "! -s 0/0" matches nothing: nf_tables refuses the zero-length compare
        # (RULE_APPEND failed, measured on 1.8.9); legacy keeps it, printed in full
        refusal = "Invalid argument"
    if refusal is not None:
        vt = frozenset()

    # the parts after the addresses
    mid = ""
    inv = p.invflags
    lin = lout = "*"
    if p.iniface:
        if p.iniface != "+" or (inv.get("i") and ctx.backend == "nft"):
            mid += f"{' !' if inv.get('i') else ''} -i {p.iniface}"
        if p.iniface != "+" or ctx.backend == "legacy" or inv.get("i"):
            lin = ("!" if inv.get("i") else "") + p.iniface
    if p.outiface:
        if p.outiface != "+" or (inv.get("o") and ctx.backend == "nft"):
            mid += f"{' !' if inv.get('o') else ''} -o {p.outiface}"
        if p.outiface != "+" or ctx.backend == "legacy" or inv.get("o"):
            lout = ("!" if inv.get("o") else "") + p.outiface
    proto = rb.proto or 0
    if proto:
        mid += f"{' !' if rb.proto_inv else ''} -p {proto_save_name(proto, ctx.version)}"
    if "f" in p.options:
        mid += f"{' !' if inv.get('f') else ''} -f"
    tail = ""
    lextra = ""
    # ip6tables-legacy 1.8.9 builds the -C comparison mask for an ipt_entry, not an
    # ip6t_entry (fixed in 1.8.10), so the mask it applies is shifted 128 bytes: the data
    # of most matches and of every target is not compared (measured in a namespace;
    # -D builds its mask right)
    legacy6 = ctx.backend == "legacy" and fam == 6 and rel.v6_legacy_check_ignores_data
    nft6 = ctx.backend == "nft" and fam == 6
    cmp_tail = ""
    names = [inst.ext.save_name or inst.ext.name for inst, _, _ in finals]
    # a print-less match first (legacy eui64): no space before the listing's extra
    mtext = "".join(lst for _i, _s, lst in finals)
    glued = mtext != "" and not mtext.startswith(" ")
    for i, (_inst, s, lst) in enumerate(finals):
        tail += f" -m {names[i]}{s}"
        lextra += lst
        if legacy6:
            compared = names[i] in _L6_COMPARED or (
                i + 1 < len(names) and names[i + 1] in _L6_WIDE_MASK
            )
            cmp_tail += f" -m {names[i]}{s if compared else ''}"
    target_name: Optional[str] = None
    ltarget = ""
    if p.jumpto is not None:
        target_name = p.jumpto
        ltarget = p.jumpto
        if p.goto:
            tail += f" -g {p.jumpto}"
            cmp_tail += f" -g {p.jumpto}"
        else:
            tail += f" -j {p.jumpto}{tfinal[0]}"
            cmp_tail += f" -j {p.jumpto}"
            if rb.target is not None:
                ltarget = rb.target.ext.list_name or p.jumpto
        lextra += tfinal[1]
    glued = glued and not p.goto
    if p.goto:
        lextra = "[goto] " + lextra
    elif lextra.startswith(" "):
        lextra = lextra[1:]
    lprot = ("!" if rb.proto_inv else "") + proto_list_name(proto, ctx.version)
    lopt = ("!" if inv.get("f") else "-") + ("f" if "f" in p.options else "-")
    wide = rel.list_proto_names == "chain"
    suffix = (
        " "
        if target_name is None and ctx.backend == "nft" and rel.nft_no_target_trailing_space
        else ""
    )
    if wide and fam == 6:
        lopt = "  "  # 1.8.7's ip6tables prints no fragment flags

    any_addr = "0.0.0.0/0" if fam == 4 else "::/0"
    srcs: List[Optional[Tuple[int, int]]] = list(saddrs) if saddrs else [None]
    dsts: List[Optional[Tuple[int, int]]] = list(daddrs) if daddrs else [None]
    out: List[RuleSpec] = []
    for sa in srcs:
        for da in dsts:
            head = ""
            ls = ld = any_addr
            if sa is not None:
                if sa[1] or inv.get("s"):
                    head += (
                        f"{' !' if inv.get('s') else ''} -s {format_addr(sa[0], sa[1], fam, False)}"
                    )
                ls = ("!" if inv.get("s") else "") + format_addr(sa[0], sa[1], fam, True)
            if da is not None:
                if da[1] or inv.get("d"):
                    head += (
                        f"{' !' if inv.get('d') else ''} -d {format_addr(da[0], da[1], fam, False)}"
                    )
                ld = ("!" if inv.get("d") else "") + format_addr(da[0], da[1], fam, True)
            text = (head + mid + tail)[1:]
            cmp_text = (head + mid + cmp_tail)[1:] if legacy6 else None
            if nft6 and (sa is not None or da is not None):
                # ip6tables-nft 1.8.9 -C/-D compare the (masked) addresses but not the
                # prefix lengths: -s 2001:db8::5/64 finds -s 2001:db8::/32 (measured)
                cmp_text = _NFT6_PREFIX.sub(r"\1", head)[1:] + mid + tail
            out.append(
                RuleSpec(
                    text=text,
                    target=target_name,
                    goto=p.goto,
                    jump_chain=jump_chain,
                    valid_hooks=vh,
                    match_hooks=mh,
                    valid_tables=vt,
                    listing=(ltarget, lprot, lopt, lin, lout, ls, ld, lextra),
                    kernel_refusal=refusal,
                    cmp_text=cmp_text if cmp_text != text else None,
                    merged_ports=merged_ports,
                    list_wide_proto=wide,
                    save_suffix=suffix,
                    list_glued=glued,
                )
            )
    return tuple(out)


_NFT6_PREFIX = re.compile(r"( -[sd] [0-9a-fA-F:.]+)/\d+")

# Matches whose data ip6tables-legacy 1.8.9 -C still compares: their own mask is
# wider than the 128-byte shift (or, for sctp, the data read lands in the next mask).
_L6_WIDE_MASK = frozenset({"comment", "rt", "string", "u32", "hashlimit", "recent"})
_L6_COMPARED = _L6_WIDE_MASK | {"sctp"}


def _ones(mask: int, family: int) -> int:
    """The number of leading one bits of a mask."""
    bits = 32 if family == 4 else 128
    n = 0
    while n < bits and mask >> (bits - 1 - n) & 1:
        n += 1
    return n


def _leading_ones(
    addrs: Optional[List[Tuple[int, int]]], family: int
) -> Optional[List[Tuple[int, int]]]:
    """iptables-nft 1.8.7 kept only a mask's leading ones: ``/255.0.255.0`` is ``/8``.

    A mask with no leading one but other bits keeps them (the kernel refuses it).
    """
    if not addrs:
        return addrs
    bits = 32 if family == 4 else 128
    out = []
    for a, m in addrs:
        n = _ones(m, family)
        out.append((a, ((1 << n) - 1) << (bits - n) if n else m))
    return out
