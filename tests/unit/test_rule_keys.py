"""Rule keys: the newline-joined strings that batch and Syncer keep instead of tuples.

A key must give back exactly its tokens, two rules must share a key only if they
are the same tokens, and the bulk conversion to restore text must agree with quoting
rule by rule (the slow, obviously right way).
"""

from __future__ import annotations

from typing import List

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import iptwrap
from iptwrap._payload import key_texts, key_tokens, restore_line, rule_keys
from iptwrap._ruleargs import refused_option

# tokens without the three forbidden characters, rich in what needs quoting
token = st.one_of(
    st.text(st.characters(blacklist_characters="\n\r\0"), max_size=8),
    st.lists(st.sampled_from(list(" \t\"'\\#-ab\u00a0\u2028")), max_size=6).map("".join),
    st.sampled_from(["-j", "ACCEPT", "192.0.2.1/32", "--comment", ""]),
)
rules = st.lists(st.lists(token, max_size=6), max_size=8)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


@FAST
@given(rules=rules)
@example(rules=[[], ["-s", "192.0.2.1/32", "-j", "ACCEPT"], []])  # ensure_chain among appends
@example(rules=[[], ["-m", "comment", "--comment", "a b"]])
def test_keys_give_back_their_tokens_and_texts_match_rule_by_rule(rules: List[List[str]]) -> None:
    assume(all(refused_option(r) is None for r in rules))  # "-A" is refused: another test
    checked, keys = rule_keys(rules)
    assert [key_tokens(k) for k in keys] == [tuple(r) for r in rules]
    assert len(set(keys)) == len({tuple(r) for r in rules})  # equal keys, equal rules
    expected = [restore_line(r) for r in rules]
    has_empty = not all(map(all, checked))
    assert key_texts(keys, empty_tokens=has_empty) == expected
    assert key_texts(keys, empty_tokens=True) == expected  # the key-by-key path


@pytest.mark.parametrize(
    "bad",
    [
        [["-j", "ACCEPT\n-A INPUT -j DROP"]],
        [["-m", "comment", "--comment", "a\rb"]],
        [["x\0"]],
        [["-j", 7]],
        ["-j ACCEPT"],  # a str, not a list of rules
    ],
)
def test_rule_keys_refuse_what_could_smuggle_a_line(bad: list) -> None:
    with pytest.raises(iptwrap.InvalidArgumentError):
        rule_keys(bad)


def test_rules_without_tokens_and_with_one_empty_token_differ() -> None:
    _checked, keys = rule_keys([[], [""], ["", ""]])
    assert len(set(keys)) == 3
    assert [key_tokens(k) for k in keys] == [(), ("",), ("", "")]
    assert key_texts(keys, empty_tokens=True) == ["", '""', '"" ""']


def test_the_join_scan_finds_exactly_what_plain_words_refuse() -> None:
    """key_texts quotes a key when one search over the join of all keys finds a
    character _PLAIN refuses; that character class must be the same set."""
    from iptwrap._payload import _PLAIN, _QUOTED_CHAR

    for code in range(0x110000):
        char = chr(code)
        if char in "\n\r#" or 0xD800 <= code <= 0xDFFF:
            continue
        refused = _PLAIN.match("a" + char) is None
        assert (_QUOTED_CHAR.search(char) is not None) == refused, hex(code)


@pytest.mark.parametrize(
    "rules",
    [
        [["a"], [""]],  # the last key is one empty token
        [[""], ["a"]],
        [["a", ""], ["b"]],  # a key ending in an empty token, then another
        [["a"], ["", "b"]],
        [["a"], ["#x"], ["b"]],
        [["a"], [], [""], []],
    ],
)
def test_empty_and_comment_tokens_at_key_edges_are_quoted(rules: List[List[str]]) -> None:
    checked, keys = rule_keys(rules)
    expected = [restore_line(r) for r in rules]
    assert key_texts(keys, empty_tokens=not all(map(all, checked))) == expected
    assert key_texts(keys, empty_tokens=True) == expected


option_words = st.sampled_from(
    ["-j", "ACCEPT", "-t", "nat", "--table", "-vt", "-m", "comment", "--comment", "-s"]
    + ["--ta=x", "-4", "x-t", "--dport", "--d", "-A", "--app", ""]
)


@FAST
@given(rules=st.lists(st.lists(option_words, max_size=5), max_size=6))
@example(rules=[["-m", "comment", "--comment", "-t"], ["-t", "nat"]])
def test_the_bulk_option_check_finds_the_first_rule_refused_alone(
    rules: List[List[str]],
) -> None:
    """first_refused_rule looks at distinct tokens only; its answer is the rule-by-rule one."""
    from iptwrap._payload import first_refused_rule

    expected = next((i for i, r in enumerate(rules) if refused_option(r) is not None), None)
    assert first_refused_rule(rules) == expected
