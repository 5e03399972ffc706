"""SET: add the packet's addresses to an ipset, or delete them from one.

The set is looked up as ``-m set`` looks it up (it must exist and suit the rule's
family). What iptables-save prints was measured on 1.8.9, both backends:
``-j SET --add-set S src --exist --timeout 60``, ``-j SET --del-set T src,dst``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..errors import ParameterProblem
from ..ext import Cursor, Ext, Opt, RuleBuild, register_target
from ..matches.hosts import lookup_set, parse_set_dirs
from ..release import release_of
from ..values import strtoui

__all__: List[str] = []


@dataclass
class _SetTargetState:
    add: Optional[Tuple[str, str]] = None  # --add-set (set, dirs)
    delete: Optional[Tuple[str, str]] = None  # --del-set (set, dirs)
    exist: bool = False  # --exist: re-adding refreshes the timeout
    timeout: Optional[int] = None  # --timeout for added entries


@register_target
class SetTarget(Ext[_SetTargetState]):
    state = _SetTargetState
    name = "SET"
    is_target = True
    reads_host = True
    opts = {
        "add-set": Opt("add"),
        "del-set": Opt("del"),
        "exist": Opt("exist", arg=False),
        "timeout": Opt("timeout"),
        "map-set": Opt("map"),
        "map-mark": Opt("mapmark", arg=False),
        "map-prio": Opt("mapprio", arg=False),
        "map-queue": Opt("mapqueue", arg=False),
    }

    def parse(
        self, st: _SetTargetState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid in ("add", "del"):
            opt = self.first_name(oid)
            if not cur.has_arg():
                raise ParameterProblem(f"--{opt} requires two args.")
            dirs = cur.take()
            lookup_set(rb, arg)
            pair = (arg, parse_set_dirs(dirs, release_of(rb.ctx.version).vt >= (1, 8, 11)))
            if oid == "add":
                st.add = pair
            else:
                st.delete = pair
        elif oid == "exist":
            st.exist = True
        elif oid == "timeout":
            v = strtoui(arg, 0, 0xFFFFFFFE)
            if v is None:  # libxt_SET's own message (measured, differential test seed 20)
                raise ParameterProblem(
                    "Invalid value for option --timeout or out of range 0-4294967294"
                )
            st.timeout = v
        else:
            raise ParameterProblem(f"fake: SET option `--{self.first_name(oid)}' is not emulated")

    def final(self, st: _SetTargetState, rb: RuleBuild) -> Tuple[str, str]:
        if st.add is None and st.delete is None:
            raise ParameterProblem(
                "You must specify either `--add-set' or `--del-set' or `--map-set'"
            )
        if st.timeout is not None and st.add is None:
            # measured (differential test seed 3): -j SET --del-set S src --timeout 60
            raise ParameterProblem("Option `--timeout' can be used with `--add-set' only")
        save = lst = ""
        for word, pair in (("add-set", st.add), ("del-set", st.delete)):
            if pair is not None:
                save += f" --{word} {pair[0]} {pair[1]}"
                lst += f" {word} {pair[0]} {pair[1]}"
        if st.exist:
            save += " --exist"
            lst += " exist"
        if st.timeout is not None:
            save += f" --timeout {st.timeout}"
            lst += f" timeout {st.timeout}"
        return save, lst
