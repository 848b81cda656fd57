import assert from "node:assert/strict";
import { test } from "node:test";
import { changesText, checksText, compareHtml, durationText, isCompareAction, type CompareView } from "../src/compare";
import { byGroup, checksReport, groupDescription, isAttemptGroup, type ChecksResult, type GroupInfo } from "../src/groups";
import { questionText } from "../src/format";
import { construct } from "./results";

const usage = (cost: number) => ({ input: 1000, output: 20, reasoning: 0, cache_read: 0, cache_write: 0, cost });

function check(name: string, passed: boolean) {
  return {
    name, command: `run ${name}`, passed, exit_code: passed ? 0 : 3, timed_out: false, duration_ms: 1200,
    finished_at: "2026-12-07T10:00:00Z", head: "abc", output: passed ? ["ok"] : ["boom <b>"], log: null, stale: false,
  };
}

function attempt(id: string, over: Partial<CompareView["attempts"][number]> = {}): CompareView["attempts"][number] {
  return {
    id, name: `Fix ${id}`, model: "synthetic/offline", status: "ready", gone: false, agent_state: "idle",
    turns: 2, duration_ms: 65_000, head: "abc", worktree: `/wt/${id}`, files: [],
    stat: { files: 1, additions: 3, deletions: 1 }, checks: [check("test", true)], checks_not_run: [],
    usage: usage(0.0012), notes: [], ...over,
  };
}

const view: CompareView = {
  group: "fix-g1", name: "Fix the bug", template_id: "t", start: "abc",
  attempts: [attempt("a1"), attempt("a2", { checks: [check("test", false)] }), attempt("a3", { gone: true })],
  files: [
    { path: "app.py", changed_by: ["a1", "a2"], agree: false },
    { path: "README.md", changed_by: ["a1"], agree: true },
  ],
  usage: usage(0.0036), checks_ran: false,
};

test("each attempt is a row with its figures, checks and actions (none for a gone one)", () => {
  const html = compareHtml(view, "n0nce", "vscode-resource:");
  assert.equal((html.match(/<tr data-attempt=/g) ?? []).length, 3);
  assert.match(html, /Fix a1/);
  assert.match(html, /1 min 5 s/);
  assert.match(html, /1 file \+3 −1/);
  assert.match(html, /✗ test fail \(exit 3\)/);
  assert.match(html, /✓ test pass/);
  assert.equal((html.match(/data-action="pick" data-ref="a\d"/g) ?? []).length, 2); // not a3: gone
  assert.match(html, /Files \(1 agree, 1 differ\)/);
  assert.match(html, /<code>app.py<\/code>: differ \(Fix a1, Fix a2\)/);
  assert.match(html, /script-src 'nonce-n0nce'/);
  assert.ok(!html.includes("<b>"), "a check's output is escaped");
});

test("figures as text", () => {
  assert.equal(durationText(null), "");
  assert.equal(durationText(42_000), "42 s");
  assert.equal(durationText(3_720_000), "1 h 2 min");
  assert.equal(changesText({ files: 2, additions: 0, deletions: 5 }), "2 files +0 −5");
  assert.equal(checksText({ checks: [check("a", true), check("b", false)], checks_not_run: ["lint"] }), "1 pass · 1 fail · not run: lint");
  assert.equal(checksText({ checks: [], checks_not_run: [] }), "no checks");
});

test("only well-formed messages from the page are actions", () => {
  assert.ok(isCompareAction({ action: "pick", ref: "a1" }));
  assert.ok(isCompareAction({ action: "refresh", runChecks: true }));
  assert.ok(!isCompareAction({ action: "pick" }));
  assert.ok(!isCompareAction({ action: "rm", ref: "a1" }));
  assert.ok(!isCompareAction("pick"));
});

const group: GroupInfo = {
  id: "fix-g1", name: "Fix the bug", prompt: "Fix it", template_id: "t", models: [], members: [],
  created_at: "2026-12-07T10:00:00Z", operation: null, usage: usage(0.003),
};

test("a group's members gather under it, where its first member was, with the group's cost", () => {
  const out = byGroup(
    [
      construct({ id: "solo" }),
      construct({ id: "a1", group_id: "fix-g1", agent: { usage: usage(0.001) } as never }),
      construct({ id: "other", group_id: "unknown-group" }),
      construct({ id: "a2", group_id: "fix-g1", agent: { usage: usage(0.002) } as never }),
    ],
    [group],
  );
  assert.deepEqual(out.map((x) => (isAttemptGroup(x) ? `group:${x.members.map((m) => m.id).join(",")}` : x.id)), [
    "solo", "group:a1,a2", "other",
  ]);
  const g = out[1];
  assert.ok(isAttemptGroup(g));
  assert.equal(g.usage?.cost, 0.003);
  assert.match(groupDescription(g), /^2 attempts · 1.0k\/20 tokens \$0\.0030$/);
});

test("a run of checks: a notification naming each, and each one's output for the log", () => {
  const r: ChecksResult = { construct: "a1", passed: false, checks: [check("test", true), check("lint", false)] };
  const { message, lines } = checksReport("Fix a1", r);
  assert.equal(message, "Synthetic: Fix a1: 1 of 2 check(s) failed (test passed, lint failed).");
  assert.ok(lines.some((l) => l.startsWith("Fix a1 · lint: FAIL (exit 3)")));
  assert.ok(lines.includes("    boom <b>"));
  assert.match(checksReport("X", { ...r, passed: true, checks: [check("test", true)] }).message, /every check passed/);
});

test("a question request is told by its questions' texts", () => {
  assert.equal(questionText({ questions: ["Which database?", "Why?"] }), "Which database? / Why?");
  assert.equal(questionText({ questions: [] }), "a question");
});
