"""-m nfacct and -j CLUSTERIP: the fake answers as the real binaries on a 6.x kernel.

nfacct names a host object (``nfacct add``): present, the rule is saved (with the two
spaces libxt_nfacct prints); missing, the kernel refuses it. CLUSTERIP's module is
gone from 6.x kernels: iptables warns, and the kernel refuses the rule.
"""

from __future__ import annotations

import os
import shutil
from typing import List, Tuple

import pytest

from iptwrap.fake import FakeRunner

from .netns import BACKENDS, Namespace

CLUSTERIP = [
    "-d", "192.0.2.1", "-j", "CLUSTERIP", "--new", "--hashmode", "sourceip",
    "--clustermac", "01:00:5e:00:00:20", "--total-nodes", "2", "--local-node", "1",
]  # fmt: skip


def _require_nfacct() -> None:
    if shutil.which("nfacct") is None:
        reason = "no nfacct binary (apt-get install nfacct)"
        if os.environ.get("IPTWRAP_REQUIRE_REAL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def _pair(rc: int, stderr: bytes) -> Tuple[int, str]:
    return rc, stderr.decode()


@pytest.mark.parametrize("backend", BACKENDS)
def test_host_objects_as_the_kernel_answers(ns: Namespace, backend: str) -> None:
    _require_nfacct()
    prog = f"iptables-{backend}"
    fake = FakeRunner(mode=backend)
    assert ns.exec("nfacct", "add", "ag-cnt").returncode == 0
    fake.nfacct_objects.add("ag-cnt")
    cases: List[List[str]] = [
        ["-A", "INPUT", "-m", "nfacct", "--nfacct-name", "ag-cnt", "-j", "ACCEPT"],
        ["-A", "INPUT", "-m", "nfacct", "--nfacct-name", "nope"],
        ["-A", "INPUT", "-m", "nfacct"],
        ["-A", "INPUT", *CLUSTERIP],
    ]
    for args in cases:
        real = ns.exec(prog, "-w", "5", *args)
        emulated = fake.run([prog, "-w", "5", *args])
        assert _pair(emulated.returncode, emulated.stderr) == _pair(real.returncode, real.stderr), (
            args
        )
    real_save = [ln for ln in ns.save(backend).splitlines() if ln.startswith("-A")]
    fake_save = fake.run([f"{prog}-save"]).stdout.decode().splitlines()
    assert real_save == [ln for ln in fake_save if ln.startswith("-A")]
    assert real_save == ["-A INPUT -m nfacct --nfacct-name  ag-cnt -j ACCEPT"]
    # the restore of a CLUSTERIP rule fails alike, its parse warning printed first
    data = ("*filter\n-A INPUT " + " ".join(CLUSTERIP) + "\nCOMMIT\n").encode()
    real = ns.exec(f"{prog}-restore", "--noflush", input=data)
    emulated = fake.run([f"{prog}-restore", "--noflush"], input=data)
    assert emulated.returncode == real.returncode
    warning = "Warning: Extension CLUSTERIP revision 0 not supported, missing kernel module?\n"
    assert real.stderr.decode().startswith(warning)
    assert emulated.stderr.decode() == real.stderr.decode()
