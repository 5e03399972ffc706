"""What the fake's answers depend on, per iptables release.

The fake models three releases in the field, each measured against its real binaries
in namespaces (``tests/data/releases/``): 1.8.7 (Debian 11), 1.8.9 (Debian 12, the
default) and 1.8.11 (Debian 13). Every difference is one named flag here, so the
parser, the kernel model and the printers ask one object instead of comparing version
tuples of their own, and a reader finds every release difference in one place.

A release between two measured ones (1.8.8, 1.8.10) answers as the measured release
below it for what changed later; :data:`MEASURED` says which ones were measured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Dict, Tuple

__all__ = ["MEASURED", "SINCE", "Release", "release_of"]

#: Releases whose answers were recorded from their real binaries.
MEASURED = ("1.8.7", "1.8.9", "1.8.11")


def _vtuple(version: str) -> Tuple[int, ...]:
    return tuple(int("".join(c for c in p if c.isdigit()) or 0) for p in version.split("."))


# Up to 1.8.7 these messages' format strings ended in "\n" and xtables_error added
# another, so the message is followed by a blank line; 1.8.9 dropped the "\n". Read from
# the 1.8.7 binaries and libraries (strings ending in a newline there, without it in
# 1.8.9), printf conversions turned into wildcards.
_NEWLINE_FORMATS = (
    "%s%s%stable `%s' is incompatible, use 'nft' tool.",
    "%s: line %u chain name invalid",
    "%s: line %u policy invalid",
    "%s: line %u table name '%s' invalid",
    "%s: line %u table name invalid",
    "%s: unable to initialize table '%s'",
    "--bytes-gt option cannot be inverted",
    "--bytes-lt option cannot be inverted",
    "--packets-gt option cannot be inverted",
    "--packets-lt option cannot be inverted",
    "--return-nomatch flag cannot be inverted",
    'Bad IP address "%s"',
    "Bad line %u: need :",
    "Bad line %u: need ]",
    "Badly formed tablename `%s'",
    "CLUSTERIP target: Invalid parameter combination",
    "CONNSECMARK target: invalid mode %hhu",
    "Can't set policy `%s' on `%s' line %u: %s",
    "Cannot initialize: %s",
    "Cannot parse %s as a counter value",
    "Cannot parse %s as a zone ID",
    "Cannot use -%c with -%c",
    "Could not fetch rule set generation id: %s",
    "Extension does not know id %u",
    "Illegal option `-%c' with this command",
    "Invalid DSCP value `%s'",
    "Invalid IP address '%s'",
    "Invalid MAC address '%s'",
    "Invalid MH type `%s'",
    "Invalid flags for chunk type %d",
    "Invalid port:port syntax - use dash",
    "MAC has to be a multicast ethernet address",
    "Parser cannot handle more arguments",
    "Port `%s' not valid",
    "Port range `%s' funky",
    'Rate too fast "%s"',
    'Rate value too large "%lu" (max %lu)',
    "SECMARK target: invalid mode %hhu",
    'Unknown hashmode "%s"',
    "You need to supply the `-%c' option for this command",
    "cannot create chain '%s' (%s)",
    "chain name may not clash with target name",
    "chain name not allowed to start with `%c'",
    "error creating chain '%s':%s",
    "error flushing chain '%s':%s",
    "goto '%s' is not a chain",
    "invalid policy counters for chain '%s'",
    "only one of the --bytes-[eq|lt|gt] is allowed",
    "only one of the --packets-[eq|lt|gt] is allowed",
    # 1.8.7's own wording, in place of 1.8.9's "Unknown ICMP type" (also with "\n")
    "Invalid ICMP type `%s'",
    "Invalid ICMPv6 type `%s'",
    "Invalid ICMP code `%s'",
    "Invalid ICMPv6 code `%s'",
)


def _format_re(fmt: str) -> str:
    out = ""
    for part in re.split(r"(%(?:h|hh|l|ll)?[sucdi])", fmt):
        out += ".*?" if part.startswith("%") else re.escape(part)
    return out


_NEWLINE_RE = re.compile("|".join(f"(?:{_format_re(f)})" for f in _NEWLINE_FORMATS))


#: The first release with each option or behaviour the client gates on (Kubernetes'
#: gates, the same numbers): one table for the client's version gates
#: (``iptwrap._version``) and the fake's emulation of old releases.
SINCE: Dict[str, Tuple[int, int, int]] = {
    "check": (1, 4, 11),  # iptables -C
    "wait": (1, 4, 20),  # -w (wait for the xtables lock, forever)
    "wait_seconds": (1, 4, 22),  # -w SECONDS
    "wait_interval": (1, 6, 1),  # -W USECONDS
    "restore_wait": (1, 6, 2),  # iptables-restore -w / -W
    "random_fully": (1, 6, 2),  # --random-fully
    "nft": (1, 8, 0),  # the nf_tables backend; "(nf_tables)"/"(legacy)" after the version
    "wait_interval_deprecated": (1, 8, 0),  # -W only prints a deprecation warning
}


@dataclass(frozen=True)
class Release:
    """One iptables release's observable differences (all measured; see docs/releases.md)."""

    version: str
    vt: Tuple[int, ...]

    @property
    def old_messages(self) -> bool:
        """1.8.7: a blank line after the messages of :data:`_NEWLINE_FORMATS`."""
        return self.vt < (1, 8, 8)

    @property
    def list_proto_names(self) -> str:
        """How ``-L -n`` prints the protocol column.

        ``"chain"``: 1.8.7, iptables' own protocol table, first entry with the number
        (58 is ``icmpv6``), width 5 with no space before the options column;
        ``"number"``: 1.8.9; ``"builtin"``: 1.8.11, the name from its own table.
        """
        if self.vt < (1, 8, 8):
            return "chain"
        if self.vt < (1, 8, 11):
            return "number"
        return "builtin"

    @property
    def saves_builtin_proto_names_only(self) -> bool:
        """1.8.11: ``-p gre`` saved as ``-p 47`` (names from its own table only)."""
        return self.vt >= (1, 8, 11)

    @property
    def string_saves_default_to(self) -> bool:
        """1.8.7: ``-m string`` without ``--to`` is saved with ``--to 65535``."""
        return self.vt < (1, 8, 8)

    @property
    def mac_list_no_space(self) -> bool:
        """1.8.7: ``-L`` prints ``MAC00:11:...`` (no space after MAC)."""
        return self.vt < (1, 8, 8)

    @property
    def nflog_prefix_double_space(self) -> bool:
        """1.8.7: two spaces after ``--nflog-prefix``, both backends."""
        return self.vt < (1, 8, 8)

    @property
    def nft_mask_as_prefix(self) -> bool:
        """1.8.7 nft: a non-contiguous mask is saved as its leading ones (``/8``)."""
        return self.vt < (1, 8, 8)

    @property
    def nft_merges_port_matches(self) -> bool:
        """nft from 1.8.9: ``--dport 22 -m tcp --sport 1000`` saved as one ``-m tcp``."""
        return self.vt >= (1, 8, 8)

    @property
    def nft_check_misses_merged(self) -> bool:
        """nft from 1.8.11: ``-C``/``-D`` of a spelling whose port matches it merged miss."""
        return self.vt >= (1, 8, 11)

    @property
    def nft_no_target_trailing_space(self) -> bool:
        """1.8.7 nft: a rule with no target is saved with a trailing space."""
        return self.vt < (1, 8, 8)

    @property
    def nft_check_prints_rule(self) -> bool:
        """1.8.7 nft: a ``-C`` that finds the rule prints it (``_save.check_line``)."""
        return self.vt < (1, 8, 8)

    @property
    def nft_chain_user_del(self) -> bool:
        """1.8.7 nft: ``-X`` of a busy chain says ``CHAIN_USER_DEL failed``."""
        return self.vt < (1, 8, 8)

    @property
    def nft_refuses_builtin_delete(self) -> bool:
        """1.8.7 nft: ``-X`` of a created built-in chain: ``Can't delete built-in chain``."""
        return self.vt < (1, 8, 8)

    @property
    def nft_zero_keeps_rule_counters(self) -> bool:
        """1.8.7 nft: ``-Z [CHAIN]`` zeroes the policy counters, not the rules'."""
        return self.vt < (1, 8, 8)

    @property
    def nft_delete_all_keeps_builtins(self) -> bool:
        """1.8.7 nft: ``-X`` (all) leaves the unused built-in chains and their counters."""
        return self.vt < (1, 8, 8)

    @property
    def nft_any_chain_name(self) -> bool:
        """1.8.7 nft: ``-N 'a b'`` is accepted."""
        return self.vt < (1, 8, 8)

    @property
    def nft_restore_error_is_commit_line(self) -> bool:
        """1.8.7 nft: a restore command that fails names the COMMIT line, no cause."""
        return self.vt < (1, 8, 8)

    @property
    def nft_mismatched_port_match_refused_by_kernel(self) -> bool:
        """1.8.7 nft: ``-p tcp -m udp`` reaches the kernel (exit 4 / ``-C`` exit 1)."""
        return self.vt < (1, 8, 8)

    @property
    def nft_zero_unborn_builtin_ok(self) -> bool:
        """1.8.11 nft: ``-Z INPUT`` of a built-in chain not created yet exits 0."""
        return self.vt >= (1, 8, 11)

    @property
    def replace_takes_first_address(self) -> bool:
        """1.8.11: ``-R`` with several ``-s``/``-d`` addresses uses the first of each."""
        return self.vt >= (1, 8, 11)

    @property
    def v6_nft_keeps_rule_counters(self) -> bool:
        """ip6tables-nft from 1.8.11 keeps the rule counters of ``-c`` (1.8.9 drops them)."""
        return self.vt >= (1, 8, 11)

    @property
    def legacy_commit_keeps_policy_counters(self) -> bool:
        """Legacy from 1.8.11: a commit keeps the policy counters (1.8.9 zeroes them)."""
        return self.vt >= (1, 8, 11)

    @property
    def v6_legacy_check_ignores_data(self) -> bool:
        """ip6tables-legacy 1.8.8 to 1.8.10: ``-C`` compares no match or target data.

        Measured: 1.8.9 wrong, 1.8.7 and 1.8.11 right (the client's gate is
        ``iptwrap._version.V6_LEGACY_CHECK_IGNORES_DATA``, the same range).
        """
        return (1, 8, 8) <= self.vt < (1, 8, 11)

    @property
    def nat_one_address_parser(self) -> bool:
        """From 1.8.9 DNAT/SNAT's IPv4 ``--to-*`` is read by the IPv6 parser: ``[..]``
        is "Invalid address format", and an address with two colons has no port
        (``Bad IP address "2001:db8::1"``); 1.8.7 took all after the first colon as
        the port (``Port `db8::1' not valid``). Measured on both backends."""
        return self.vt >= (1, 8, 8)

    @property
    def legacy_restore_warns_wait_interval(self) -> bool:
        """iptables-legacy-restore from 1.8.9: ``-W`` prints "Ignoring deprecated
        --wait-interval option." (1.8.7 says nothing)."""
        return self.vt >= (1, 8, 8)

    @property
    def long_option_names(self) -> bool:
        """1.8.11: messages name options by their long name (``--source``), and say
        "shorter than 16 characters" of an interface name."""
        return self.vt >= (1, 8, 11)

    @property
    def from_1_8_11(self) -> bool:
        """The other 1.8.11 messages and checks (see docs/releases.md)."""
        return self.vt >= (1, 8, 11)

    def has(self, feature: str) -> bool:
        """Does this release have a feature of :data:`SINCE`?"""
        return self.vt >= SINCE[feature]

    def blank_after(self, message: str) -> bool:
        """Is this message followed by a blank line in this release?"""
        return self.old_messages and _NEWLINE_RE.fullmatch(message) is not None


@cache
def release_of(version: str) -> Release:
    """The :class:`Release` for a version string such as ``"1.8.9"``."""
    return Release(version, _vtuple(version))
