"""Rule identity for the release the client probed: the engine's text, or the kernel's.

Batch, sync and the single-call fallbacks compare the rules an agent asks for with
what ``iptables-save`` printed. They need the exact text the *probed* release prints,
and releases differ: 1.8.11 saves ``-p gre`` as ``-p 47``, so a comparison made with
1.8.9's text adds the rule again on every run. So:

- for a release the rule engine models (:data:`~iptwrap._version.IDENTITY_RELEASES`),
  the engine canonicalises locally, in microseconds;
- for any other release the client does not guess: it asks the kernel. The rules go
  into a scratch chain in one ``iptables-restore``, one ``iptables -S`` reads back
  the text the binary prints, and one more restore removes the chain. Three
  processes for any number of rules, and the answers are kept for the client's life
  (a binary prints the same spec the same way). Said once, in the log, at DEBUG.

Either way, a rule whose restore text *is* a saved rule's text needs neither: the
same tokens make the same rule on every release.
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

from ._canonical import canonical_key_texts
from ._errors import IPTablesError
from ._log import log
from ._payload import checked_table, key_tokens, restore_line
from ._writer import command, declare, one_table, removes

if TYPE_CHECKING:  # pragma: no cover
    from ._client import IPTables

__all__ = ["Identity", "SCRATCH_PREFIX"]


#: Scratch chains are named ``IPTWRAP-ID-<pid>-<n>``; ``teardown("IPTWRAP-ID-")``
#: removes any a killed process left behind.
SCRATCH_PREFIX = "IPTWRAP-ID-"
_counter = itertools.count()
_KERNEL_CACHE_MAX = 100_000

Rule = Tuple[str, ...]
ChainExists = Callable[[str, str], bool]


class Identity:
    """Canonical texts of rules for one client's binary (release, backend, family)."""

    def __init__(self, client: IPTables) -> None:
        info = client.info
        self._client = client
        self.modelled = info.models_identity
        self._family = 6 if client.is_ipv6() else 4
        self._backend = info.mode.value
        self._version = str(info.version)
        self._kernel: Dict[Tuple[str, Rule], Optional[str]] = {}
        self._lock = threading.Lock()
        if not self.modelled:
            log.debug(
                "iptables %s is not a release iptwrap's rule engine models; "
                "rule identity is asked of the kernel (scratch chains %s*)",
                self._version,
                SCRATCH_PREFIX,
            )

    def texts(
        self,
        table: str,
        chain: str,
        rules: Sequence[Rule],
        chain_exists: Optional[ChainExists] = None,
    ) -> List[Optional[str]]:
        """The text after ``-A CHAIN`` that the binary saves for each rule; None: unknown.

        None means the rule cannot be told here (the engine cannot read it, or the
        kernel refused it); the caller then asks ``-C`` for that rule alone.
        """
        if self.modelled:
            keys = ["\n".join(rule) if rule else "\0" for rule in rules]
            return self.key_texts(table, chain, keys, chain_exists)
        return self._kernel_texts(table, rules)

    def key_texts(
        self,
        table: str,
        chain: str,
        keys: Sequence[str],
        chain_exists: Optional[ChainExists] = None,
    ) -> List[Optional[str]]:
        """:meth:`texts` for rule keys (tokens joined by newlines, ``"\\0"`` for none),
        which batch and sync already hold: a cached rule costs one dict probe."""
        if self.modelled:
            return canonical_key_texts(
                keys,
                table=table,
                chain=chain,
                family=self._family,
                backend=self._backend,
                version=self._version,
                chain_exists=chain_exists,
            )
        return self._kernel_texts(table, [key_tokens(key) for key in keys])

    def text(self, table: str, chain: str, rule: Rule) -> Optional[str]:
        return self.texts(table, chain, [rule])[0]

    def _kernel_texts(self, table: str, rules: Sequence[Rule]) -> List[Optional[str]]:
        with self._lock:
            missing = [r for r in dict.fromkeys(rules) if (table, r) not in self._kernel]
        if missing:
            found = self._ask_kernel(table, missing)
            with self._lock:
                if len(self._kernel) + len(found) > _KERNEL_CACHE_MAX:
                    self._kernel.clear()
                self._kernel.update(((table, r), t) for r, t in zip(missing, found))
        with self._lock:
            return [self._kernel.get((table, r)) for r in rules]

    def _ask_kernel(self, table: str, rules: List[Rule]) -> List[Optional[str]]:
        """One scratch chain for all the rules; rule by rule if the kernel refuses one."""
        texts = self._scratch(table, rules)
        if texts is not None:
            return list(texts)
        if len(rules) == 1:
            return [None]
        return [(self._scratch(table, [rule]) or [None])[0] for rule in rules]

    def _scratch(self, table: str, rules: List[Rule]) -> Optional[List[Optional[str]]]:
        name = f"{SCRATCH_PREFIX}{os.getpid() % 100_000}-{next(_counter) % 10_000}"
        body = [command("-A", name, restore_line(rule)) for rule in rules]
        try:
            self._client.restore_all(one_table(table, [declare(name), *body]), flush=False)
        except IPTablesError:
            return None
        try:
            listed = self._client.list_rules(checked_table(table), name)
        finally:
            self._client.restore_all(one_table(table, removes([name])), flush=False)
        if len(listed) != len(rules):
            return None  # a comma list of addresses made several rules, or a flush
        head = f"-A {name}"
        return [line[len(head) + 1 :] if line != head else "" for line in listed]
