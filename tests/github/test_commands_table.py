"""The command table and the enums are the one place the commands, actions and outcomes are
spelled; the workflows' ``if:`` conditions and the other modules must agree with them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.github.acknowledge import REFUSALS
from bot.github.commands import COMMAND_OF_ACTION, COMMANDS, HELP, Action, Command, parse_command
from bot.github.outcomes import OUTCOMES, ReportOutcome
from bot.verify.verdict import Verdict

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
ACTION_TEST_RE = re.compile(r"outputs\.action\s*(==|!=)\s*'(?P<value>[^']*)'")


def conditions(node: Any) -> Iterator[str]:
    """Every ``if:`` of a workflow (jobs and steps)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "if" and isinstance(value, str):
                yield value
            else:
                yield from conditions(value)
    elif isinstance(node, list):
        for item in node:
            yield from conditions(item)


def action_tests() -> list[tuple[str, str]]:
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for condition in conditions(yaml.safe_load(path.read_text())):
            tests = list(ACTION_TEST_RE.finditer(condition))
            # every mention of the action output is a comparison this test understands
            assert condition.count("outputs.action") == len(tests), condition
            found += [(path.name, match["value"]) for match in tests]
    return found


def test_every_action_a_workflow_tests_is_an_action() -> None:
    tests = action_tests()

    assert {name for name, _ in tests} == {"verify.yml"}
    known = {action.value for action in Action} | {""}  # "": the command job did not run
    assert [value for _, value in tests if value not in known] == []
    assert {value for _, value in tests} == {"", "ignore", "verify"}


def test_each_command_is_one_row_with_its_own_action() -> None:
    assert len(COMMAND_OF_ACTION) == len(COMMANDS)
    for word, spec in COMMANDS.items():
        assert spec.word == word
        assert all(f"`{usage}`" in HELP for usage in spec.usage)
        assert all(usage.split(" ")[0] == f"/{word}" for usage in spec.usage)


@pytest.mark.parametrize("word", list(COMMANDS))
def test_a_command_word_parses_to_its_row(word: str) -> None:
    parsed = parse_command(COMMANDS[word].usage[0])

    assert isinstance(parsed, Command) and parsed.name == word


def test_every_action_is_acknowledged_by_a_command_or_a_refusal() -> None:
    handled = set(COMMAND_OF_ACTION) | set(REFUSALS) | {Action.IGNORE}

    assert handled == set(Action)
    assert not set(COMMAND_OF_ACTION) & set(REFUSALS)


def test_every_outcome_has_a_row() -> None:
    assert set(OUTCOMES) == set(ReportOutcome)


def test_the_report_outcomes_are_the_verdicts_and_stale() -> None:
    assert {str(o) for o in ReportOutcome} == {str(v) for v in Verdict} | {"stale"}
