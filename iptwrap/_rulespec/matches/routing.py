"""Where a packet is and where it came from: devgroup, realm, cpu, cluster and eui64.

Names of device groups and realms come from ``/etc/iproute2/group`` and
``/etc/iproute2/rt_realms``; the fake has Debian 12's own files (iproute2 6.1 ships
``0 default`` and ``0 cosmos``), so ``--src-group 0`` saves as ``default`` and
``--realm 0`` as ``cosmos``, as on a Debian 12 host that did not edit them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ..errors import ParameterProblem
from ..ext import (
    Cursor,
    Ext,
    Opt,
    Restriction,
    RuleBuild,
    hooks,
    register_match,
)
from ..values import strtoui_prefix

__all__: List[str] = []

# xtables_lmap of Debian 12's /etc/iproute2 files: name -> id
DEVGROUP_NAMES: Dict[str, int] = {"default": 0}
REALM_NAMES: Dict[str, int] = {"cosmos": 0}


def parse_val_mask(ext: Ext[Any], opt: str, arg: str, names: Dict[str, int]) -> Tuple[int, int]:
    """xtables_parse_val_mask with a name map: "value[/mask]" or a name (mask all ones)."""
    got = strtoui_prefix(arg)
    if got is not None and (got[1] == "" or got[1].startswith("/")):
        val, rest = got
        if rest == "":
            return val, 0xFFFFFFFF
        m = strtoui_prefix(rest[1:])
        if m is None:
            raise ParameterProblem(
                f'{ext.name}: bad integer value for option "--{opt}", or out of range.\n'
            )
        if m[1] != "":
            raise ParameterProblem(
                f'{ext.name}: trailing garbage after value for option "--{opt}".\n'
            )
        return val, m[0]
    if arg not in names:
        raise ParameterProblem(
            f'{ext.name}: could not map name {arg} to an integer value for option "--{opt}".\n'
        )
    return names[arg], 0xFFFFFFFF


def _val_mask_txt(v: int, m: int, names: Dict[str, int], numeric: bool) -> str:
    """print_devgroup / print_realm: a name only with a full mask and not numeric."""
    if m != 0xFFFFFFFF:
        return f"0x{v:x}/0x{m:x}"
    if not numeric:
        for name, i in names.items():
            if i == v:
                return name
    return f"0x{v:x}"


# ---------------------------------------------------------------- devgroup


@dataclass
class _DevgroupState:
    src: Optional[Tuple[int, int]] = None  # --src-group (value, mask); None: not given
    src_inv: bool = False
    dst: Optional[Tuple[int, int]] = None  # --dst-group (value, mask)
    dst_inv: bool = False


@register_match
class DevgroupMatch(Ext[_DevgroupState]):
    state = _DevgroupState
    name = "devgroup"
    opts = {"src-group": Opt("src-group", inv=True), "dst-group": Opt("dst-group", inv=True)}

    def parse(
        self, st: _DevgroupState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        vm = parse_val_mask(self, oid, arg, DEVGROUP_NAMES)
        if oid == "src-group":
            st.src, st.src_inv = vm, inv
        else:
            st.dst, st.dst_inv = vm, inv

    def final(self, st: _DevgroupState, rb: RuleBuild) -> Tuple[str, str]:
        if st.src is None and st.dst is None:
            raise ParameterProblem(
                "devgroup match: You must specify either '--src-group' or '--dst-group'"
            )
        s = lst = ""
        for vm, inv, opt in ((st.src, st.src_inv, "src-group"), (st.dst, st.dst_inv, "dst-group")):
            if vm is None:
                continue
            i = " !" if inv else ""
            s += f"{i} --{opt} {_val_mask_txt(*vm, DEVGROUP_NAMES, False)}"
            lst += f"{i} {opt} {_val_mask_txt(*vm, DEVGROUP_NAMES, True)}"
        return s, lst

    def restrict(self, st: _DevgroupState, rb: RuleBuild) -> Restriction:
        """devgroup_mt_checkentry: the incoming device exists before routing and on the
        way in, the outgoing one from forwarding on."""
        ok = set(hooks("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"))
        if st.src is not None:
            ok &= hooks("PREROUTING", "INPUT", "FORWARD")
        if st.dst is not None:
            ok &= hooks("FORWARD", "OUTPUT", "POSTROUTING")
        return frozenset(ok), None, None


# ---------------------------------------------------------------- realm (IPv4)


@dataclass
class _RealmState:
    realm: Optional[Tuple[int, int]] = None  # --realm (value, mask); None: not given
    inv: bool = False


@register_match
class RealmMatch(Ext[_RealmState]):
    state = _RealmState
    name = "realm"
    families = (4,)
    opts = {"realm": Opt("realm", inv=True)}
    mandatory = ("realm",)
    # realm_mt's hooks: the route (and its realm) is known after the routing decision
    only_hooks = hooks("INPUT", "FORWARD", "OUTPUT", "POSTROUTING")

    def parse(
        self, st: _RealmState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.realm, st.inv = parse_val_mask(self, "realm", arg, REALM_NAMES), inv

    def final(self, st: _RealmState, rb: RuleBuild) -> Tuple[str, str]:
        if st.realm is None:
            return "", ""  # the mandatory check (fcheck) answers
        i = " !" if st.inv else ""
        return (
            f"{i} --realm {_val_mask_txt(*st.realm, REALM_NAMES, False)}",
            f"{i} realm {_val_mask_txt(*st.realm, REALM_NAMES, True)}",
        )


# ---------------------------------------------------------------- cpu


@dataclass
class _CpuState:
    cpu: int = 0
    inv: bool = False


@register_match
class CpuMatch(Ext[_CpuState]):
    state = _CpuState
    name = "cpu"
    opts = {"cpu": Opt("cpu", inv=True)}
    mandatory = ("cpu",)

    def parse(
        self, st: _CpuState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.cpu, st.inv = self.uint("cpu", arg), inv

    def final(self, st: _CpuState, rb: RuleBuild) -> Tuple[str, str]:
        return (
            f"{' !' if st.inv else ''} --cpu {st.cpu}",
            f" cpu {'! ' if st.inv else ''}{st.cpu}",
        )


# ---------------------------------------------------------------- cluster


@dataclass
class _ClusterState:
    total_nodes: int = 0
    node_mask: int = 0  # --cluster-local-node N sets bit N-1; --cluster-local-nodemask sets it
    hash_seed: int = 0
    inv: bool = False
    given: Tuple[str, ...] = ()  # the option ids given, for cluster_check


@register_match
class ClusterMatch(Ext[_ClusterState]):
    state = _ClusterState
    name = "cluster"
    opts = {
        "cluster-total-nodes": Opt("total"),
        "cluster-local-node": Opt("node", inv=True),
        "cluster-local-nodemask": Opt("mask", inv=True),
        "cluster-hash-seed": Opt("seed"),
    }
    mandatory = ("total", "seed")
    excl = {"node": ("mask",), "mask": ("node",)}

    def parse(
        self, st: _ClusterState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.given += (oid,)
        if oid == "seed":
            st.hash_seed = self.uint("cluster-hash-seed", arg)
            return
        v = self.uint(self.first_name(oid), arg, 1, 32)
        if oid == "total":
            st.total_nodes = v
            return
        st.node_mask = 1 << (v - 1) if oid == "node" else v
        if inv:
            st.inv = True

    def final(self, st: _ClusterState, rb: RuleBuild) -> Tuple[str, str]:
        g = set(st.given)
        for local, msg in (
            ("node", "`--cluster-local-node' must be <= `--cluster-total-nodes'"),
            ("mask", "`--cluster-local-nodemask' too big for `--cluster-total-nodes'"),
        ):
            if {"total", local, "seed"} <= g:
                if st.node_mask >= 1 << st.total_nodes:
                    raise ParameterProblem(f"cluster match: {msg}")
                break
        else:
            if not g & {"node", "mask"}:
                raise ParameterProblem(
                    "cluster match: `--cluster-local-node' or`--cluster-local-nodemask' is missing"
                )
        i = st.inv
        tail = f"total_nodes={st.total_nodes} hash_seed=0x{st.hash_seed:08x}"
        return (
            f"{' !' if i else ''} --cluster-local-nodemask 0x{st.node_mask:08x}"
            f" --cluster-total-nodes {st.total_nodes} --cluster-hash-seed 0x{st.hash_seed:08x}",
            f" cluster {'!' if i else ''}node_mask=0x{st.node_mask:08x} {tail}",
        )


# ---------------------------------------------------------------- eui64 (IPv6)


@dataclass
class _Eui64State:
    """No options: the source address is compared with the sender's MAC address."""


@register_match
class Eui64Match(Ext[_Eui64State]):
    state = _Eui64State
    name = "eui64"
    families = (6,)
    opts: Dict[str, Opt] = {}
    # eui64_mt6: the Ethernet header is there on the way in only
    only_hooks = hooks("PREROUTING", "INPUT", "FORWARD")

    def parse(
        self, st: _Eui64State, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        """No option reaches here."""

    def final(self, st: _Eui64State, rb: RuleBuild) -> Tuple[str, str]:
        # the module has no print function: ip6tables-legacy -L prints "eui64 " right
        # after the destination column, ip6tables-nft prints nothing
        return "", ("eui64 " if rb.backend == "legacy" else "")
