"""The example agents against the real kernel: applied, applied again (nothing sent), removed."""

from __future__ import annotations

import pytest

from examples import host_firewall, publish_port, service_proxy
from iptwrap import IPTables


def _rules(ipt: IPTables) -> list:
    return [line for line in ipt.save().decode().splitlines() if not line.startswith("#")]


@pytest.mark.iptwrap(mode="both")
def test_the_examples_apply_idempotently_and_leave_nothing(netns_iptables: IPTables) -> None:
    ipt = netns_iptables
    ports = [publish_port.Published("192.0.2.10", 80, 8080)]
    assert publish_port.publish(ipt, ports).changed
    assert not publish_port.publish(ipt, ports).changed
    proxy = service_proxy.Proxy(ipt)
    services = [
        service_proxy.Service("default/web:http", "203.0.113.20", 80, ["198.51.100.3:8080"])
    ]
    assert proxy.sync(services).changed and not proxy.sync(services).changed
    host_firewall.apply(ipt, host_firewall.Firewall())
    before = _rules(ipt)
    host_firewall.apply(ipt, host_firewall.Firewall())
    assert _rules(ipt) == before
    host_firewall.remove(ipt)
    proxy.stop()
    publish_port.unpublish_all(ipt)
    text = ipt.save().decode()
    assert not any(p in text for p in ("PUB-", "SP-", "HF-"))
