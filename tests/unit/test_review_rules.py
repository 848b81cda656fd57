"""Pure rules of review: the agent-status move to reviewing, turns from session messages."""

from __future__ import annotations

from typing import Any

from state_format.statuses import Status
from synthetic_ls.opencode.client import Message
from synthetic_ls.ops.agent_status import BUSY, DONE, ERROR, IDLE, next_status
from synthetic_ls.ops.review import _turns


def test_a_turn_that_ends_well_leads_to_reviewing_when_asked() -> None:
    assert next_status(Status.ACTIVE, IDLE) is Status.READY
    assert next_status(Status.ACTIVE, IDLE, True) is Status.REVIEWING
    assert next_status(Status.ACTIVE, DONE, True) is Status.REVIEWING
    assert next_status(Status.AWAITING_INPUT, DONE, True) is Status.REVIEWING
    # Not a good end, or not from work: as before.
    assert next_status(Status.ACTIVE, ERROR, True) is Status.ERROR
    assert next_status(Status.READY, BUSY, True) is Status.ACTIVE
    assert next_status(Status.ERROR, IDLE, True) is None
    # error -> reviewing is not in the table: a good turn after an error is ready.
    assert next_status(Status.ERROR, DONE, True) is Status.READY
    # Reviewing no longer follows the agent.
    assert next_status(Status.REVIEWING, BUSY, True) is None


def _message(role: str, text: str, created: int, parts: list[dict[str, Any]]) -> Message:
    return Message(id=f"m{created}", session_id="s", role=role, text=text, parts=parts,
                   raw={"info": {"time": {"created": created}}})


def test_turns_group_replies_under_their_prompt_with_files_touched() -> None:
    messages = [
        _message("user", "## This construct\n...", 1, []),  # context, no reply
        _message("user", "fix the bug\nplease", 10, []),
        _message("assistant", "", 11, [
            {"type": "tool", "state": {"input": {"filePath": "/wt/src/a.py"}}},
            {"type": "patch", "files": ["/wt/src/a.py", "/wt/src/b.py"]},
        ]),
        _message("assistant", "Fixed it.", 12, []),
        _message("user", "thanks", 20, []),
        _message("assistant", "You are welcome.", 21, []),
    ]
    turns = _turns(messages)
    assert [(t["time_ms"], t["prompt"], t["summary"], t["tools"]) for t in turns] == [
        (10, "fix the bug\\nplease", "Fixed it.", 1),
        (20, "thanks", "You are welcome.", 0),
    ]
    assert turns[0]["files"] == ["/wt/src/a.py", "/wt/src/b.py"]


def test_review_on_idle_is_a_boolean_template_field() -> None:
    from pathlib import Path

    from synthetic_ls.config import check_config_text, json_schema

    path = Path("/nonexistent/synthetic.config.ts")
    good = check_config_text(
        "export default { templates: { t: { reviewOnIdle: true } } };", path, None
    )
    assert good.diagnostics == [] and good.config is not None
    assert good.config.templates["t"].review_on_idle is True
    bad = check_config_text(
        'export default { templates: { t: { reviewOnIdle: "yes" } } };', path, None
    )
    assert [d.code for d in bad.diagnostics] == ["wrong-type"]
    template = json_schema()["$defs"]["Template"]["properties"]["reviewOnIdle"]
    assert template["type"] == "boolean" and "reviewing" in template["description"]
