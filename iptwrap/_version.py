"""The iptables version and backend, and the feature gates that depend on them.

The gates are the ones Kubernetes' ``pkg/util/iptables`` uses, kept as named
constants so that a table-driven test can pin the argv each version receives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

from ._rulespec.release import SINCE
from ._types import Mode

__all__ = [
    "Version",
    "BinaryInfo",
    "parse_version_output",
    "CHECK_MIN_VERSION",
    "WAIT_MIN_VERSION",
    "WAIT_SECONDS_MIN_VERSION",
    "WAIT_INTERVAL_MIN_VERSION",
    "WAIT_INTERVAL_DEPRECATED_VERSION",
    "WAIT_RESTORE_MIN_VERSION",
    "RANDOM_FULLY_MIN_VERSION",
    "NFT_MIN_VERSION",
    "V6_LEGACY_CHECK_IGNORES_DATA",
    "V6_NFT_COMPARE_IGNORES_PREFIX",
    "IDENTITY_RELEASES",
    "NFT_CHECK_MISSES_MERGED_MATCHES",
    "NFT_ZERO_CHAIN_KEEPS_RULE_COUNTERS",
]


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
        if not match:
            raise ValueError(f"not an iptables version: {text!r}")
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


#: ``iptables -C`` (check) exists.
CHECK_MIN_VERSION = Version(*SINCE["check"])
#: ``iptables -w`` (wait for the xtables lock, forever).
WAIT_MIN_VERSION = Version(*SINCE["wait"])
#: ``iptables -w SECONDS``.
WAIT_SECONDS_MIN_VERSION = Version(*SINCE["wait_seconds"])
#: ``iptables -W USECONDS`` (poll interval while waiting).
WAIT_INTERVAL_MIN_VERSION = Version(*SINCE["wait_interval"])
#: From 1.8.0 ``-W`` only prints a deprecation warning: never send it there.
WAIT_INTERVAL_DEPRECATED_VERSION = Version(*SINCE["wait_interval_deprecated"])
#: ``iptables-restore -w SECONDS``; before it, the client takes the lock file itself.
WAIT_RESTORE_MIN_VERSION = Version(*SINCE["restore_wait"])
#: ``--random-fully`` for MASQUERADE/SNAT.
RANDOM_FULLY_MIN_VERSION = Version(*SINCE["random_fully"])
#: The first release with the nf_tables backend (``iptables-nft``).
NFT_MIN_VERSION = Version(*SINCE["nft"])

#: ip6tables-legacy's ``-C`` builds its comparison mask for an IPv4 entry, so it ignores
#: the data of most matches and of the target: with ``--dport 22`` present, ``-C ...
#: --dport 2222`` exits 0 (measured on 1.8.9; ``-D`` is right). The mask code came with
#: 1.8.8; 1.8.7 and 1.8.11 compare correctly. [first, end) releases.
V6_LEGACY_CHECK_IGNORES_DATA = (Version(1, 8, 8), Version(1, 8, 11))
#: ip6tables-nft's ``-C`` and ``-D`` compare ``-s``/``-d`` without their prefix length:
#: with ``-s 2001:db8::/48`` present, ``-C -s 2001:db8::/64`` exits 0 and ``-D`` of it
#: deletes the /48 rule. Measured on 1.8.7, 1.8.9 and 1.8.11: no release is known to
#: be right, so every nft release takes the exact paths. [first, end) releases.
V6_NFT_COMPARE_IGNORES_PREFIX = (NFT_MIN_VERSION, Version(999, 0, 0))

#: iptables-nft from 1.8.11 merges a rule's repeated ``-m tcp`` (``--dport 22 -m tcp
#: --sport 1000``) into one match, and its ``-C`` of the spelling with two then finds
#: nothing (measured on 1.8.11; 1.8.7 and 1.8.9 are right): such a check goes by the
#: rule's identity instead.
NFT_CHECK_MISSES_MERGED_MATCHES = Version(1, 8, 11)

#: iptables-nft's ``-Z CHAIN`` leaves the rules' counters as they were, while ``-Z CHAIN
#: N`` zeroes rule N (measured on 1.8.7; 1.8.9 and 1.8.11 are right). [first, end).
NFT_ZERO_CHAIN_KEEPS_RULE_COUNTERS = (NFT_MIN_VERSION, Version(1, 8, 9))

#: The releases whose ``iptables-save`` text the rule engine reproduces exactly, so that
#: batch and sync may canonicalise locally. Any other release is asked (iptwrap._identity).
IDENTITY_RELEASES = frozenset({Version(1, 8, 9), Version(1, 8, 11)})

_VERSION_LINE = re.compile(r"^(?:ip6?tables\S*)\s+v(\d+\.\d+(?:\.\d+)?)(?:\s+\(([^)]*)\))?", re.M)


@dataclass(frozen=True)
class BinaryInfo:
    """What ``iptables --version`` said, probed once per client."""

    version: Version
    mode: Mode

    @property
    def has_check(self) -> bool:
        return self.version >= CHECK_MIN_VERSION

    @property
    def has_wait(self) -> bool:
        return self.version >= WAIT_MIN_VERSION

    @property
    def has_wait_seconds(self) -> bool:
        return self.version >= WAIT_SECONDS_MIN_VERSION

    @property
    def has_wait_interval(self) -> bool:
        return WAIT_INTERVAL_MIN_VERSION <= self.version < WAIT_INTERVAL_DEPRECATED_VERSION

    @property
    def has_restore_wait(self) -> bool:
        return self.version >= WAIT_RESTORE_MIN_VERSION

    @property
    def has_random_fully(self) -> bool:
        return self.version >= RANDOM_FULLY_MIN_VERSION

    @property
    def models_identity(self) -> bool:
        """The rule engine prints rules exactly as this release's iptables-save does."""
        return self.version in IDENTITY_RELEASES

    def check_misses_merged_matches(self) -> bool:
        """``-C`` of a spec that repeats a match may miss the rule it made."""
        return self.mode is Mode.NFT and self.version >= NFT_CHECK_MISSES_MERGED_MATCHES

    def zero_keeps_rule_counters(self) -> bool:
        """``-Z [CHAIN]`` does not zero the counters of the rules."""
        first, end = NFT_ZERO_CHAIN_KEEPS_RULE_COUNTERS
        return self.mode is Mode.NFT and first <= self.version < end

    def check_ignores_match_data(self, ipv6: bool) -> bool:
        """``-C`` answers yes for rules that differ in match or target data."""
        first, end = V6_LEGACY_CHECK_IGNORES_DATA
        return ipv6 and self.mode is Mode.LEGACY and first <= self.version < end

    def compare_ignores_prefix(self, ipv6: bool) -> bool:
        """``-C`` and ``-D`` take ``-s a/48`` and ``-s a/64`` for the same rule."""
        first, end = V6_NFT_COMPARE_IGNORES_PREFIX
        return ipv6 and self.mode is Mode.NFT and first <= self.version < end


def parse_version_output(text: str) -> Tuple[Version, Optional[Mode]]:
    """Parse ``iptables v1.8.9 (nf_tables)`` / ``(legacy)`` / ``iptables v1.4.21``.

    Returns the version and the backend when the output names one (1.8+); older
    binaries are legacy by construction, which the caller decides.
    """
    match = _VERSION_LINE.search(text)
    if not match:
        raise ValueError(f"cannot read an iptables version from {text.strip()!r}")
    version = Version.parse(match.group(1))
    tag = (match.group(2) or "").strip()
    mode: Optional[Mode]
    if tag == "nf_tables":
        mode = Mode.NFT
    elif tag == "legacy":
        mode = Mode.LEGACY
    else:
        mode = None
    return version, mode
