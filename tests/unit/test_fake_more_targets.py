"""The targets of ``more_targets.jsonl`` (ECN, ULOG, TCPOPTSTRIP, DNPT, SNPT,
IDLETIMER, RATEEST, SECMARK, CONNSECMARK, LED) replayed through FakeRunner: the same
exit codes, messages, ``iptables-save`` and ``-L -n -v -x`` lines as the real binaries
(the integration test ``test_more_targets_real`` keeps the data true)."""

from __future__ import annotations

from typing import Sequence, Tuple

import pytest

from iptwrap.fake import FakeRunner

from ..more_targets_data import Case, Run, expected, ids, load, replay

CASES = load()


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_fake_answers_as_recorded(case: Case) -> None:
    for backend in case["backends"]:
        assert replay(case, backend, _runner(FakeRunner(mode=backend))) == expected(case), backend


def _runner(fake: FakeRunner) -> Run:
    def run(argv: Sequence[str]) -> Tuple[int, str, str]:
        res = fake.run(list(argv))
        return res.returncode, res.stdout.decode(), res.stderr.decode()

    return run
