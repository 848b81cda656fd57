"""What each agent cost: tokens and cost in ``ls`` and ``show``, from the real server.

The offline model reports usage on its last streamed chunk as a paid
provider does, and has a price (:data:`~synthetic_ls.opencode.offline_model.PRICE_INPUT`),
so OpenCode records non-zero tokens and cost on each answer; ``ls`` and
``show`` read them from the session without writing anything.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic_ls.opencode import offline_model
from synthetic_ls.opencode.client import OpenCodeClient
from tests.opencode.conftest import OpenCodeServer
from tests.opencode.test_sessions import cli, cli_json, repo, served, wait_for  # noqa: F401

KEYS = ("input", "output", "reasoning", "cache_read", "cache_write")


def told(client: OpenCodeClient, sid: str, directory: str) -> tuple[int, int, float, int]:
    """Input and output tokens, cost and finished answers of a session, as its messages say."""
    infos = [m.raw["info"] for m in client.messages(sid, directory=directory)]
    mine = [i for i in infos if i.get("role") == "assistant" and i.get("finish")]
    return (sum(i["tokens"]["input"] for i in mine), sum(i["tokens"]["output"] for i in mine),
            sum(i["cost"] for i in mine), len(mine))


def test_ls_and_show_tell_each_agents_tokens_and_cost_and_their_total(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    one = cli_json(capsys, "new", "One")
    two = cli_json(capsys, "new", "Two")
    cli_json(capsys, "session", "send", one["id"], "hello there", "--wait")
    cli_json(capsys, "session", "send", two["id"], "a longer question for the model", "--wait")
    cli_json(capsys, "session", "send", two["id"], "and a second one", "--wait")

    seen: dict[str, dict] = {}  # type: ignore[type-arg]

    def settled() -> bool:
        # OpenCode adds a finished answer to its session's sums a moment after
        # the turn ends: `ls` tells the sums, which then match the answers.
        seen["ls"] = cli_json(capsys, "ls")
        with served.client() as client:
            seen["answers"] = {made["id"]: told(client, made["opencode_session_id"],
                                                made["workspace_path"]) for made in (one, two)}
        turns = {one["id"]: 1, two["id"]: 2}
        for c in seen["ls"]["constructs"]:
            tokens_in, tokens_out, _cost, answered = seen["answers"][c["id"]]
            got = c["agent"]["usage"]
            # Every turn's answer recorded, and the sums `ls` tells match them.
            if answered != turns[c["id"]] or (got["input"], got["output"]) != (
                    tokens_in, tokens_out):
                return False
        return True

    wait_for(settled)
    listed = seen["ls"]
    usage = {c["id"]: c["agent"]["usage"] for c in listed["constructs"]}
    for made in (one, two):
        u = usage[made["id"]]
        assert u["input"] > 0 and u["output"] > 0 and u["cost"] > 0
        tokens_in, tokens_out, cost, _ = seen["answers"][made["id"]]
        assert u["cost"] == pytest.approx(cost)
        # The price is the offline model's: the cost is computed from it.
        assert u["cost"] == pytest.approx(
            (tokens_in * offline_model.PRICE_INPUT + tokens_out * offline_model.PRICE_OUTPUT)
            / 1e6)
    # Two turns cost more than one (the session's sums, not its last answer).
    assert usage[two["id"]]["input"] > usage[one["id"]]["input"]
    for key in KEYS:
        assert listed["usage"][key] == usage[one["id"]][key] + usage[two["id"]][key]
    assert listed["usage"]["cost"] == pytest.approx(
        usage[one["id"]]["cost"] + usage[two["id"]]["cost"])

    shown = cli_json(capsys, "show", two["id"])
    assert shown["agent"]["usage"] == usage[two["id"]]

    code, text, _ = cli(capsys, "ls")
    assert code == 0
    head, *rows = text.splitlines()
    assert "TOKENS IN/OUT" in head and "COST" in head
    total = rows[-1]
    assert total.startswith("total: ") and "$" in total
    code, text, _ = cli(capsys, "show", one["id"])
    assert any(line.startswith("usage:") and "$0.0" in line for line in text.splitlines())


def test_ls_of_constructs_without_agents_tells_no_usage_and_keeps_its_columns(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    cli_json(capsys, "new", "Plain", "--template", "plain")
    listed = cli_json(capsys, "ls")
    assert listed["usage"] == {k: 0 for k in KEYS} | {"cost": 0}
    code, text, _ = cli(capsys, "ls")
    assert code == 0 and "TOKENS" not in text and "total:" not in text
