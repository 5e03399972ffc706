"""The tracer on a command line: a packet written as text, a network as JSON, a trace
as text or JSON (``iptwrap trace``)."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Tuple

from .._errors import InvalidArgumentError
from ._model import Network, Packet, Route, Trace

__all__ = ["parse_packet", "network_from_json", "trace_to_json"]


def _endpoint(text: str) -> Tuple[Optional[str], Optional[int]]:
    if text in ("-", "local"):
        return None, None
    if text.startswith("["):
        inside, _sep, rest = text[1:].partition("]")
        return inside, int(rest[1:]) if rest.startswith(":") else None
    if text.count(":") == 1:  # IPv4 address and port
        addr, _sep, port = text.partition(":")
        return addr, int(port)
    return text, None  # an IPv4 address, or an IPv6 one without port


def parse_packet(text: str) -> Packet:
    """``PROTO SRC[:PORT] -> DST[:PORT] [iif IF] [flags SA] [mark N] [type N] [code N]``;
    IPv6 endpoints with a port are bracketed (``[2001:db8::1]:80``). ``SRC`` may be
    ``-`` (locally generated, source picked by the route); no ``iif`` is local too."""
    words = text.split()
    try:
        arrow = words.index("->")
        proto, src_text = words[0], words[1] if arrow == 2 else "-"
        dst_text, extra = words[arrow + 1], words[arrow + 2 :]
    except (ValueError, IndexError):
        raise InvalidArgumentError(
            f"a packet is 'PROTO SRC[:PORT] -> DST[:PORT] [iif IF] ...', not {text!r}"
        ) from None
    src, sport = _endpoint(src_text)
    dst, dport = _endpoint(dst_text)
    if dst is None:
        raise InvalidArgumentError(f"no destination in {text!r}")
    options: Dict[str, str] = {}
    for key, value in zip(extra[::2], extra[1::2]):
        options[key] = value
    if len(extra) % 2 or set(options) - {"iif", "flags", "mark", "type", "code"}:
        raise InvalidArgumentError(f"after the destination: iif/flags/mark/type/code, in {text!r}")
    return Packet(
        proto=proto,
        src=src,
        sport=sport,
        dst=dst,
        dport=dport,
        iif=options.get("iif"),
        tcp_flags=options.get("flags", "S"),
        mark=int(options.get("mark", "0"), 0),
        icmp_type=int(options["type"]) if "type" in options else None,
        icmp_code=int(options.get("code", "0")),
    )


def network_from_json(data: Any) -> Network:
    """``{"interfaces": {"eth0": ["198.51.100.1/24"]}, "routes": [{"dst": "0.0.0.0/0",
    "dev": "eth1", "via": "192.0.2.254"}], "forwarding": true}``."""
    try:
        routes = [Route(r["dst"], r["dev"], r.get("via")) for r in data.get("routes", [])]
        return Network(dict(data["interfaces"]), routes, bool(data.get("forwarding", True)))
    except (KeyError, TypeError, AttributeError) as exc:
        raise InvalidArgumentError(f"not a network description: {exc!r}") from None


def trace_to_json(t: Trace) -> Dict[str, Any]:
    return {
        "outcome": t.outcome,
        "out_interface": t.out_interface,
        "packet": dataclasses.asdict(t.packet),
        "reject": list(t.reject) if t.reject else None,
        "steps": [dataclasses.asdict(s) for s in t.steps],
        "unknown": list(t.unknown),
        "ctstate": t.ctstate,
    }
