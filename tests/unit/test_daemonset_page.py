"""docs/daemonset.md: the manifest is valid YAML that a linter accepts, and says what
the page says it does."""

from __future__ import annotations

from pathlib import Path

import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

PAGE = Path(__file__).resolve().parents[2] / "docs" / "daemonset.md"


def _manifest() -> str:
    return PAGE.read_text().split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_manifest_passes_yamllint() -> None:
    config = YamlLintConfig("extends: default\nrules:\n  document-start: disable\n")
    problems = list(linter.run(_manifest(), config))
    assert problems == [], [str(p) for p in problems]


def test_the_manifest_has_each_part_the_page_explains() -> None:
    doc = yaml.safe_load(_manifest())
    assert doc["kind"] == "DaemonSet"
    pod = doc["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    (agent,) = pod["containers"]
    assert set(agent["securityContext"]["capabilities"]["add"]) == {"NET_ADMIN", "NET_RAW"}
    mounts = {m["mountPath"]: m["name"] for m in agent["volumeMounts"]}
    volumes = {v["name"]: v["hostPath"] for v in pod["volumes"]}
    assert volumes[mounts["/run/xtables.lock"]] == {
        "path": "/run/xtables.lock",
        "type": "FileOrCreate",
    }
    assert volumes[mounts["/run/iptwrap.lock"]]["path"] == "/run/iptwrap.lock"
    assert {"name": "IPTWRAP_LOCK_FILE", "value": "/run/iptwrap.lock"} in agent["env"]
