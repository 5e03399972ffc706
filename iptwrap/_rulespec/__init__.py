"""The rule engine: iptables' command line, read the way each release reads it.

``parse_command`` turns an ``iptables`` argv tail (or one ``iptables-restore`` line)
into a :class:`~iptwrap._rulespec.model.Command` whose rules carry the exact text the
release's ``iptables-save`` prints, their ``-L`` columns, and where the kernel would
refuse them. Bound to a release, backend and family by the
:class:`~iptwrap._rulespec.model.ParseContext`; the differences between releases are
the properties of :mod:`iptwrap._rulespec.release`.

It stands alone: the client canonicalises rules with it (``iptwrap._canonical``), the
fake executes what it parses (``iptwrap.fake``), and it imports neither.

- ``options``: iptables' own getopt tables; ``parser``: the getopt emulation and the
  post-parse checks; ``build``: a parsed rule to its :class:`RuleSpec`;
  ``listing``: its ``-L`` line;
- ``ext``: the extension framework; ``matches/`` and ``targets/``: the extensions, by
  concern; ``values``: addresses, ports, protocols, interfaces; ``names``: the tables,
  targets and matches iptables knows;
- ``errors``: how a command is refused; ``release``: what differs between releases.
"""

from __future__ import annotations

__all__: list[str] = []
