"""The example agents (examples/), on the fake, on both backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from examples import host_firewall, publish_port, service_proxy
from iptwrap.fake import FakeIPTables

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.iptwrap(mode="both")
def test_publishing_is_idempotent_and_removable(fake_iptables: FakeIPTables) -> None:
    ipt = fake_iptables
    web = publish_port.Published("192.0.2.10", 80, 8080)
    db = publish_port.Published("192.0.2.11", 5432, 15432)
    assert publish_port.publish(ipt, [web, db]).changed
    assert not publish_port.publish(ipt, [web, db]).changed  # nothing sent the second time
    assert (
        "-A PUB-DNAT ! -i br0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.10:80"
        in ipt.rules("nat", "PUB-DNAT")
    )
    assert ipt.rules("filter", "FORWARD")[0] == "-A FORWARD -j PUB-FWD"  # first, before DROPs
    publish_port.publish(ipt, [web])  # unpublish the database
    assert not any("15432" in r for r in ipt.rules("nat", "PUB-DNAT"))
    publish_port.unpublish_all(ipt)
    assert "PUB-" not in ipt.dump()


@pytest.mark.iptwrap(mode="both")
def test_the_proxy_sends_only_what_changed(fake_iptables: FakeIPTables) -> None:
    ipt = fake_iptables
    proxy = service_proxy.Proxy(ipt)
    web = service_proxy.Service("default/web:http", "203.0.113.20", 80, ["198.51.100.3:8080"])
    dns = service_proxy.Service("kube/dns:dns", "203.0.113.10", 53, ["198.51.100.2:53"], "udp")
    proxy.sync([dns, web])
    scaled = service_proxy.Service(
        web.name, web.cluster_ip, 80, [*web.endpoints, "198.51.100.4:8080"]
    )
    result = proxy.sync([dns, scaled])
    assert len(result.created) == 1 and len(result.rewritten) == 1  # the new SEP, the SVC
    assert b"kube/dns" not in result.payload
    svc = [c for c in ipt.list_chains("nat") if c.startswith("SP-SVC-")]
    web_chain = [c for c in svc if any("web" in r for r in ipt.rules("nat", c))][0]
    assert "--probability 0.50000000000" in ipt.rules("nat", web_chain)[0]
    assert not proxy.sync([dns, scaled]).changed
    proxy.stop()
    assert not [c for c in ipt.list_chains("nat") if c.startswith("SP-")]


@pytest.mark.iptwrap(mode="both")
def test_the_firewall_closes_policies_after_its_rules_and_opens_them_first(
    fake_iptables: FakeIPTables,
) -> None:
    ipt = fake_iptables
    host_firewall.apply(ipt, host_firewall.Firewall())
    policy = ipt.get_policy("filter", "INPUT")
    assert policy is not None and policy.policy == "DROP"
    assert ipt.rules("filter", "INPUT") == ["-A INPUT -j HF-INPUT"]
    restores = sum(1 for c in ipt.calls if c[0].endswith("restore"))
    host_firewall.apply(ipt, host_firewall.Firewall())  # again: reads, sends nothing
    assert sum(1 for c in ipt.calls if c[0].endswith("restore")) == restores
    dynamic = host_firewall.Firewall(wan_address=None)
    host_firewall.apply(ipt, dynamic)
    assert ipt.rules("nat", "HF-POSTROUTING") == [
        "-A HF-POSTROUTING -s 198.51.100.0/24 -o eth0 -j MASQUERADE"
    ]
    host_firewall.remove(ipt)
    policy = ipt.get_policy("filter", "FORWARD")
    assert policy is not None and policy.policy == "ACCEPT" and "HF-" not in ipt.dump()


@pytest.mark.parametrize("name", ["publish_port", "service_proxy", "host_firewall"])
def test_each_example_runs_as_a_script(name: str) -> None:
    res = subprocess.run(
        [sys.executable, str(ROOT / "examples" / f"{name}.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "COMMIT" in res.stdout
