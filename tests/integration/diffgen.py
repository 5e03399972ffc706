"""The command generator of the differential test (``test_differential.py``).

A seeded :class:`Generator` emits iptables, iptables-save/-restore and ipset commands:

- rule specs the release's iptables accepted (``tests/data/canon.jsonl``), and specs
  built from the option tables (``opts``) of every emulated match and target, with
  abbreviated option names and ``!`` before options that may or may not be inverted;
  option values are the words ``canon.jsonl`` gives each option, plus a few bad ones;
- user chains named like built-in chains of another table (``-N OUTPUT`` in raw,
  ``-j INPUT`` from a user chain);
- ipset commands (create of the emulated types, add/del/test/flush/destroy/swap/
  rename/save, ``ipset restore`` payloads) and rules using the sets (``-m set``,
  ``-j SET``), sets of the other family and missing sets included;
- restore payloads that are not clean Unix text: CR LF, tabs, trailing spaces, no
  final newline, ``#`` comment lines and blank lines anywhere.
"""

from __future__ import annotations

import json
import os
import random
import re
from functools import cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from iptwrap._rulespec.ext import MATCHES, TARGETS, Ext, Opt

from .netns import HOST_RELEASE, release_binary

DATA = Path(__file__).resolve().parent.parent / "data"
# IPTWRAP_DIFF_WILD=1: also bad option values and "!" before options that cannot be
# inverted (error paths whose message order is a long tail: off in CI, see the report
# in tests/unit/test_fake_divergences.py)
WILD = os.environ.get("IPTWRAP_DIFF_WILD") == "1"

ONLY_1_8_9 = frozenset(
    {"ecn", "devgroup", "cpu", "realm", "ipcomp", "connlabel", "cluster", "eui64",
     "ECN", "TCPOPTSTRIP", "DNPT", "SNPT", "IDLETIMER", "RATEEST", "SECMARK",
     "CONNSECMARK", "ULOG", "LED"}
)  # fmt: skip
USER_CHAINS = ["USR-A", "USR-B", "KUBE-SVC-X"]
# names of built-in chains, used as user chains where the table has no such chain
BUILTIN_NAMED = ["OUTPUT", "PREROUTING", "INPUT", "POSTROUTING", "FORWARD"]
BUILTINS = {
    "filter": ["INPUT", "FORWARD", "OUTPUT"],
    "nat": ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
    "mangle": ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
    "raw": ["PREROUTING", "OUTPUT"],
}
COMMENTS = ["plain", "two words", 'say "hi"', "back\\slash", "it's", ""]

# ---------------------------------------------------------------- ipset material

SET_NAMES = ["SA", "SB", "SC"]
SET_TYPES = [
    "hash:ip",
    "hash:net",
    "hash:ip,port",
    "hash:net,port",
    "hash:ip,port,ip",
    "bitmap:port",
    "list:set",
]
_IP = {
    4: ["192.0.2.1", "192.0.2.2", "198.51.100.7", "203.0.113.9"],
    6: ["2001:db8::1", "2001:db8::2", "2001:db8:1::5"],
}
_NET = {
    4: ["192.0.2.0/24", "198.51.100.0/25", "203.0.113.8/29", "192.0.2.1"],
    6: ["2001:db8::/32", "2001:db8:1::/48", "2001:db8::1"],
}
_PORTS = ["80", "tcp:443", "udp:53", "22", "sctp:9", "http"]
_BITMAP_PORTS = ["22", "80", "1000-1003", "1024", "2000"]


# ---------------------------------------------------------------- option values


def _canon_lines(release: str) -> List[Dict[str, Any]]:
    path = (
        DATA / "canon.jsonl"
        if release == HOST_RELEASE
        else DATA / "releases" / release / "canon.jsonl"
    )
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@cache
def _spec_pool(backend: str, family: int, release: str) -> Dict[str, List[List[str]]]:
    """Rule specs that this release's iptables accepted for the backend and family."""
    pool: Dict[str, List[List[str]]] = {t: [] for t in BUILTINS}
    for d in _canon_lines(release):
        if d["backend"] != backend or d["family"] != family or d["rc"] != 0 or d["pre"]:
            continue
        if d["table"] in pool and not any("\n" in a for a in d["args"]):
            pool[d["table"]].append(list(d["args"]))
    return pool


def _all_option_names() -> Dict[str, List[Opt]]:
    names: Dict[str, List[Opt]] = {}
    for ext in list(MATCHES.values()) + list(TARGETS.values()):
        for name, opt in ext.opts.items():
            names.setdefault(name, []).append(opt)
    return names


@cache
def option_values() -> Dict[str, Tuple[Tuple[str, ...], ...]]:
    """Every extension option -> the argument words canon.jsonl gives it (any release)."""
    names = _all_option_names()
    seen: Dict[str, set[Tuple[str, ...]]] = {}
    for release in ("1.8.7", HOST_RELEASE, "1.8.11"):
        for d in _canon_lines(release):
            if d["rc"] != 0 and not WILD:
                continue  # refused values (e.g. "2000:1000": a release/protocol tail)
            args = d["args"]
            for i, a in enumerate(args):
                if not a.startswith("--") or a[2:] not in names:
                    continue
                words: List[str] = []
                for w in args[i + 1 : i + 3]:
                    if w.startswith("-") and not re.fullmatch(r"-\d+", w) or w == "!":
                        break
                    if "\n" in w:
                        break
                    words.append(w)
                if words:
                    seen.setdefault(a[2:], set()).add(tuple(words[:1]))
                    if len(words) == 2:
                        seen[a[2:]].add(tuple(words))
    return {k: tuple(sorted(v)) for k, v in seen.items()}


_BAD_VALUES = ("", "0", "1", "65536", "-1", "abc", "1:2", "0x10/0xff", "none")
_PROTO_OF = {
    "icmp": "icmp",
    "icmp6": "ipv6-icmp",
    "esp": "esp",
    "ah": "ah",
    "mh": "ipv6-mh",
    "multiport": "tcp",
    "tcpmss": "tcp",
}


class Generator:
    def __init__(self, seed: int, backend: str, family: int, release: str = HOST_RELEASE) -> None:
        self.rng = random.Random(seed)
        self.backend = backend
        self.family = family
        self.pool = _spec_pool(backend, family, release)
        # the release's binary (the fake goes by its basename)
        self.prog = release_binary(release, backend, family)
        rng = self.rng
        # each set name has a type and a family for this sequence (sometimes the other)
        self.set_types = {n: rng.choice(SET_TYPES) for n in SET_NAMES}
        other = 10 - family
        self.set_family = {n: family if rng.random() < 0.8 else other for n in SET_NAMES}

        # extensions measured on 1.8.9 only (tests/data/spec_real/more_*.jsonl) are
        # generated for 1.8.9 only; 1.8.7 reads CLUSTERIP's --new as taking an argument,
        # a known divergence (tests/unit/test_fake_tail.py)
        def generated(name: str) -> bool:
            if release == "1.8.9":
                return True
            if name in ONLY_1_8_9 or (name == "ah" and family == 6):
                return False
            return not (name == "CLUSTERIP" and release == "1.8.7")

        self.matches = [e for e in MATCHES.values() if family in e.families and generated(e.name)]
        self.targets = [e for e in TARGETS.values() if family in e.families and generated(e.name)]
        self.values = option_values()

    # ------------------------------------------------------------ names
    def user_chain(self) -> str:
        if self.rng.random() < 0.1:
            return self.rng.choice(BUILTIN_NAMED)
        return self.rng.choice(USER_CHAINS)

    def set_name(self) -> str:
        return (
            self.rng.choice(SET_NAMES + ["SR"])
            if self.rng.random() < 0.1
            else (self.rng.choice(SET_NAMES))
        )

    # ------------------------------------------------------------ rule specs
    def spec(self, table: str) -> List[str]:
        r = self.rng.random()
        if r < 0.2:
            return ["-j", self.rng.choice(USER_CHAINS + ["RETURN", "ACCEPT"])]
        if r < 0.25:
            # a user chain named like another table's built-in chain (a jump to a
            # built-in chain of this table is a known divergence: test_fake_divergences)
            names = [n for n in BUILTIN_NAMED if n not in BUILTINS[table]] or USER_CHAINS
            return [self.rng.choice(["-j", "-g"]), self.rng.choice(names)]
        if r < 0.32:
            return ["-g", self.rng.choice(USER_CHAINS)]
        if r < 0.36:
            comment = self.rng.choice(COMMENTS)
            return [
                "-m",
                "comment",
                "--comment",
                comment,
                "-j",
                self.rng.choice(["ACCEPT", "RETURN"]),
            ]
        if r < 0.46:
            return self.set_spec()
        if r < 0.66:
            return self.ext_spec()
        options = self.pool[table] or self.pool["filter"]
        return list(self.rng.choice(options))

    def set_spec(self) -> List[str]:
        rng = self.rng
        dirs = rng.choice(["src", "dst", "src,dst", "dst,src", "src,src,dst", "foo"])
        if rng.random() < 0.6:
            words = ["!"] if rng.random() < 0.3 else []
            words += ["-m", "set", *words, "--match-set", self.set_name(), dirs]
            if rng.random() < 0.25:
                words.append("--return-nomatch")
            return words + ["-j", rng.choice(["ACCEPT", "DROP", "RETURN"])]
        which = rng.choice(["--add-set", "--del-set"])
        words = ["-j", "SET", which, self.set_name(), dirs]
        if rng.random() < 0.3:
            words.append("--exist")
        if rng.random() < 0.3:
            words += ["--timeout", rng.choice(["60", "600", "0"])]
        return words

    def spelled(self, ext: Ext[Any], name: str) -> str:
        """The option's name, or (sometimes) an abbreviation of it."""
        if self.rng.random() < 0.75 or len(name) < 3:
            return name
        return name[: self.rng.randint(2, len(name) - 1)]

    def value(self, name: str, opt: Opt) -> List[str]:
        rng = self.rng
        if name in ("match-set", "set", "add-set", "del-set", "map-set"):
            return [self.set_name(), rng.choice(["src", "dst", "src,dst"])]
        known = self.values.get(name) or ()
        if known and (not WILD or rng.random() < 0.9):
            return list(rng.choice(known))
        return [rng.choice(_BAD_VALUES)]

    def ext_spec(self) -> List[str]:
        """A rule from the option table of one emulated match or target."""
        rng = self.rng
        target = rng.random() < 0.4
        ext = rng.choice(self.targets if target else self.matches)
        words: List[str] = []
        proto = getattr(ext, "proto_name", None) or _PROTO_OF.get(ext.name)
        if proto is not None and rng.random() < 0.85:
            words += ["-p", proto]
        elif target and rng.random() < 0.3:
            words += ["-p", rng.choice(["tcp", "udp"])]
        words += ["-j" if target else "-m", ext.name]
        names = list(ext.opts)
        if not WILD:
            # one option, with a value canon.jsonl gives it: CI stays off the long tail
            # of which-error-first messages that option combinations and bad values reach
            names = [n for n in names if not ext.opts[n].arg or n in self.values or "set" in n]
        for name in rng.sample(names, min(len(names), rng.randint(0, 3 if WILD else 1))):
            opt = ext.opts[name]
            if (opt.inv and rng.random() < 0.3) or (WILD and rng.random() < 0.03):
                words.append("!")
            words.append("--" + self.spelled(ext, name))
            if opt.arg:
                words += self.value(name, opt)
        if not target and rng.random() < 0.5:
            words += ["-j", rng.choice(["ACCEPT", "DROP", "RETURN"])]
        return words

    def counters(self) -> str:
        return f"[{self.rng.randint(0, 9)}:{self.rng.choice([0, 60, 1500])}]"

    # ------------------------------------------------------------ commands
    def command(self) -> Tuple[List[str], Optional[bytes]]:
        rng = self.rng
        if rng.random() < 0.2:
            return self.ipset()
        table = rng.choice(["filter"] * 4 + ["nat"] * 2 + ["mangle", "raw"])
        chain = rng.choice(BUILTINS[table] + USER_CHAINS)
        user = self.user_chain()
        prog, save = self.prog, self.prog + "-save"
        t = ["-t", table]
        op = rng.choice("AAAAIIDDCNNNXFZZPERRSSLrrrrs")
        if op == "A":
            return [prog, *t, "-A", chain, *self.spec(table)], None
        if op == "I":
            pos = [str(rng.randint(1, 4))] if rng.random() < 0.6 else []
            return [prog, *t, "-I", chain, *pos, *self.spec(table)], None
        if op == "D":
            if rng.random() < 0.4:
                return [prog, *t, "-D", chain, str(rng.randint(1, 4))], None
            return [prog, *t, "-D", chain, *self.spec(table)], None
        if op == "C":
            return [prog, *t, "-C", chain, *self.spec(table)], None
        if op == "N":
            return [prog, *t, "-N", user], None
        if op == "X":
            return [prog, *t, "-X", *([user] if rng.random() < 0.8 else [])], None
        if op == "F":
            return [prog, *t, "-F", *([chain] if rng.random() < 0.8 else [])], None
        if op == "Z":
            r = rng.random()
            if r < 0.3:
                return [prog, *t, "-Z", chain, str(rng.randint(1, 3))], None
            return [prog, *t, "-Z", *([chain] if r < 0.8 else [])], None
        if op == "P":
            return [prog, *t, "-P", chain, rng.choice(["ACCEPT", "DROP"])], None
        if op == "E":
            new = rng.choice(USER_CHAINS + ["INPUT", "NEWNAME"] + BUILTIN_NAMED[:2])
            if user in BUILTINS[table] and self.backend == "nft":
                # iptables-nft renames an existing base chain (it keeps its hook and
                # disappears from -save): a known divergence, test_fake_tail.py
                user = rng.choice(USER_CHAINS)
            return [prog, *t, "-E", user, new], None
        if op == "R":
            return [prog, *t, "-R", chain, str(rng.randint(1, 3)), *self.spec(table)], None
        if op == "S":
            verbose = ["-v"] if rng.random() < 0.3 else []
            return [prog, *t, "-S", *([chain] if rng.random() < 0.5 else []), *verbose], None
        if op == "L":
            flags = [f for f in ("-v", "-x", "--line-numbers") if rng.random() < 0.6]
            return [prog, *t, "-L", *([chain] if rng.random() < 0.5 else []), "-n", *flags], None
        if op == "s":
            return [save, *(["-t", table] if rng.random() < 0.3 else []), "-c"], None
        return self.restore(table)

    def restore(self, table: str) -> Tuple[List[str], Optional[bytes]]:
        """A small restore payload, sometimes with --noflush, -c counters or -T."""
        rng = self.rng
        counters = rng.random() < 0.3
        lines = [f"*{table}"]
        if counters:
            for b in rng.sample(BUILTINS[table], rng.randint(0, 2)):
                lines.append(f":{b} {rng.choice(['ACCEPT', 'DROP'])} {self.counters()}")
        declared = rng.sample(USER_CHAINS, rng.randint(0, 2))
        if rng.random() < 0.1:
            declared.append(rng.choice(BUILTIN_NAMED))
        lines += [f":{c} - [0:0]" for c in declared]
        chains = BUILTINS[table] + declared
        for _ in range(rng.randint(0, 4)):
            c = rng.choice(chains)
            r = rng.random()
            if r < 0.6:
                prefix = self.counters() + " " if counters and rng.random() < 0.7 else ""
                lines.append(f"{prefix}-A {c} " + " ".join(_quote(a) for a in self.spec(table)))
            elif r < 0.7:
                lines.append(
                    f"-I {c} {rng.randint(1, 3)} " + " ".join(_quote(a) for a in self.spec(table))
                )
            elif r < 0.8:
                lines.append(f"-D {c} {rng.randint(1, 3)}")
            elif r < 0.85:
                lines.append(f"-R {c} {rng.randint(1, 2)} -j {rng.choice(['ACCEPT', 'RETURN'])}")
            elif r < 0.9:
                lines.append(f"-E {self.user_chain()} {rng.choice(USER_CHAINS + ['NEWNAME'])}")
            elif r < 0.95:
                lines.append(f"-F {c}")
            else:
                lines.append(f"-C {c} " + " ".join(_quote(a) for a in self.spec(table)))
        lines.append("COMMIT")
        flags = ["--noflush"] if rng.random() < 0.7 else []
        if counters:
            flags.append("-c")
        if rng.random() < 0.1:
            flags += ["-T", rng.choice([table, "filter"])]
        return [self.prog + "-restore", *flags], self.messy(lines)

    def messy(self, lines: List[str]) -> bytes:
        """The payload, now and then as text that is not clean Unix text."""
        rng = self.rng
        if rng.random() < 0.6:
            return ("\n".join(lines) + "\n").encode()
        out: List[str] = []
        for line in lines:
            if rng.random() < 0.1:
                out.append(rng.choice(["# a comment", "#", "", "   ", "\t", "# *nat"]))
            if rng.random() < 0.15:
                line = line.replace(" ", "\t", rng.randint(1, 3))
            if rng.random() < 0.1:
                line = line.replace(" ", "  ", 1)
            if rng.random() < 0.15:
                line += rng.choice([" ", "  ", "\t", " \t"])
            out.append(line)
        if rng.random() < 0.2:
            out.append(rng.choice(["# after COMMIT", "", "#"]))
        eol = "\r\n" if rng.random() < 0.25 else "\n"
        text = eol.join(out)
        if rng.random() < 0.75:
            text += eol
        return text.encode()

    # ------------------------------------------------------------ ipset
    def element(self, name: str) -> str:
        rng = self.rng
        kind = self.set_types.get(name) or rng.choice(SET_TYPES)
        if rng.random() < 0.1:
            kind = rng.choice(SET_TYPES)
        fam = self.set_family.get(name, self.family)
        if rng.random() < 0.05:
            fam = 10 - fam
        ip, net, port = rng.choice(_IP[fam]), rng.choice(_NET[fam]), rng.choice(_PORTS)
        if kind == "hash:ip":
            return ip
        if kind == "hash:net":
            return net + (",nomatch" if rng.random() < 0.1 else "")
        if kind == "hash:ip,port":
            return f"{ip},{port}"
        if kind == "hash:net,port":
            return f"{net},{port}"
        if kind == "hash:ip,port,ip":
            return f"{ip},{port},{rng.choice(_IP[fam])}"
        if kind == "bitmap:port":
            return rng.choice(_BITMAP_PORTS)
        return rng.choice(SET_NAMES + ["SR"])

    def create_words(self, name: str) -> List[str]:
        rng = self.rng
        kind = self.set_types.get(name) or rng.choice(SET_TYPES)
        words = [name, kind]
        if kind.startswith("hash:"):
            fam = self.set_family.get(name, self.family)
            if fam == 6 or rng.random() < 0.3:
                words += ["family", "inet6" if fam == 6 else "inet"]
        elif kind == "bitmap:port":
            words += ["range", rng.choice(["1-1024", "0-65535", "1000-2000"])]
        elif rng.random() < 0.3:
            words += ["size", "4"]
        if rng.random() < 0.3:
            words += ["timeout", rng.choice(["600", "0", "3600"])]
        for flag in ("counters", "comment"):
            if rng.random() < 0.1:
                words.append(flag)
        return words

    def add_words(self, name: str) -> List[str]:
        words = [name, self.element(name)]
        if self.rng.random() < 0.15:
            words += ["timeout", self.rng.choice(["300", "0"])]
        return words

    def ipset(self) -> Tuple[List[str], Optional[bytes]]:
        rng = self.rng
        name = self.set_name()
        op = rng.choice(
            ["create"] * 4 + ["add"] * 5 + ["del"] * 2 + ["test"] * 2 + ["flush", "destroy"]
            + ["destroy", "swap", "rename", "save", "restore", "restore"]
        )  # fmt: skip
        exist = ["-exist"] if rng.random() < 0.2 else []
        if op == "create":
            return ["ipset", *exist, "create", *self.create_words(name)], None
        if op == "add":
            return ["ipset", "add", *self.add_words(name), *exist], None
        if op in ("del", "test"):
            return ["ipset", op, name, self.element(name), *exist], None
        if op in ("flush", "destroy", "save"):
            return ["ipset", op, *([name] if rng.random() < 0.8 else [])], None
        if op == "swap":
            return ["ipset", "swap", name, self.set_name()], None
        if op == "rename":
            return ["ipset", "rename", name, rng.choice(SET_NAMES + ["SR"])], None
        return self.ipset_restore()

    def ipset_restore(self) -> Tuple[List[str], Optional[bytes]]:
        rng = self.rng
        lines: List[str] = []
        for _ in range(rng.randint(1, 5)):
            name = self.set_name()
            r = rng.random()
            if r < 0.3:
                lines.append("create " + " ".join(self.create_words(name)))
            elif r < 0.75:
                lines.append("add " + " ".join(self.add_words(name)))
            elif r < 0.85:
                lines.append(f"del {name} {self.element(name)}")
            elif r < 0.9:
                lines.append(f"flush {name}")
            elif r < 0.95:
                lines.append(f"destroy {name}")
            else:
                lines.append(f"swap {name} {self.set_name()}")
        if rng.random() < 0.5:
            lines.append("COMMIT")
        flags = ["-exist"] if rng.random() < 0.3 else []
        return ["ipset", *flags, "restore"], ("\n".join(lines) + "\n").encode()


def _quote(token: str) -> str:
    if token and all(c.isalnum() or c in "-_./:,!+" for c in token):
        return token
    return '"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"'
