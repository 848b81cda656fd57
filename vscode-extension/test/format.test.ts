import assert from "node:assert/strict";
import { test } from "node:test";
import {
  agentSummary,
  agentTooltip,
  aheadBehind,
  permissionText,
  constructContext,
  constructDescription,
  constructTooltip,
  consentDetail,
  consentItems,
  countConstructs,
  errorCode,
  errorMessage,
  serviceIcon,
  serviceRows,
  statusBarText,
  statusBarTooltip,
  statusIcon,
  STATUSES,
  worktreeSummary,
  promptBundleText,
  tokensText,
  costText,
  usageSummary,
  usageDetail,
  usageTotal,
} from "../src/format";
import { construct, service, worktree } from "./results";

test("every status has its own icon", () => {
  const icons = STATUSES.map((s) => statusIcon(s).icon);
  assert.equal(new Set(icons).size, STATUSES.length);
  assert.equal(statusIcon("something-new").icon, "question");
});

test("ahead/behind", () => {
  assert.equal(aheadBehind(0, 0), "");
  assert.equal(aheadBehind(2, 0), "↑2");
  assert.equal(aheadBehind(2, 1), "↑2 ↓1");
  assert.equal(aheadBehind(null, 3), "↓3");
});

test("worktree summary", () => {
  assert.equal(worktreeSummary(construct()), "clean");
  assert.equal(worktreeSummary(construct({ workspace_path: null })), "no worktree");
  assert.equal(worktreeSummary(construct({ worktree: worktree({ exists: false }) })), "worktree missing");
  const dirty = construct({ worktree: worktree({ dirty: true, changes: [" M a.ts", "?? b.ts"] }) });
  assert.equal(worktreeSummary(dirty), "dirty (2 changes)");
  assert.equal(worktreeSummary(construct({ worktree: worktree({ dirty: true, changes: ["?? b"] }) })), "dirty (1 change)");
});

test("agent summary", () => {
  assert.equal(agentSummary(construct()), "");
  assert.equal(agentSummary(construct({ agent: { state: "busy", pending_permissions: [], usage: null } })), "agent working");
  assert.equal(agentSummary(construct({ agent: { state: "awaiting_input", pending_permissions: ["p1"], usage: null } })), "agent waits for 1 permission");
  assert.equal(agentSummary(construct({ agent: { state: "idle", pending_permissions: [], usage: null } })), "agent idle");
});

test("description: branch, ahead/behind, worktree, agent", () => {
  assert.equal(constructDescription(construct()), "synthetic/fix-login-abc123");
  const c = construct({
    worktree: worktree({ branch: "b", ahead: 1, behind: 2, dirty: true, changes: [" M x"] }),
    agent: { state: "busy", pending_permissions: [], usage: null },
  });
  assert.equal(constructDescription(c), "b ↑1 ↓2 · dirty (1 change) · agent working");
});

test("the tooltip names the failed step", () => {
  assert.match(constructTooltip(construct({ status: "error", error: "session: provider not usable" })), /error: session: provider not usable/);
  assert.doesNotMatch(constructTooltip(construct()), /error:/);
  assert.match(constructTooltip(construct({ isolation: "bubblewrap" })), /isolated: bubblewrap/);
  assert.doesNotMatch(constructTooltip(construct()), /isolated:/);
});

test("context value flags for the menus", () => {
  assert.equal(constructContext(construct()), "construct worktree branch");
  const c = construct({ opencode_session_id: "ses_1", agent: { state: "awaiting_input", pending_permissions: ["p"], usage: null } });
  assert.equal(constructContext(c), "construct worktree session permission branch");
  assert.equal(constructContext(construct({ workspace_path: null, branch: null })), "construct");
});

test("counting by status and agents awaiting input", () => {
  const counts = countConstructs([
    construct({ status: "ready" }),
    construct({ status: "active" }),
    construct({ status: "awaiting_input" }),
    construct({ status: "ready", agent: { state: "idle", pending_permissions: ["x"], usage: null } }),
  ]);
  assert.deepEqual(counts.byStatus, { ready: 2, active: 1, awaiting_input: 1 });
  assert.equal(counts.awaitingInput, 2);
  assert.equal(counts.total, 4);
  assert.equal(statusBarText(counts), "$(layers) 4 · 1 active · $(bell-dot) 2");
  assert.match(statusBarTooltip(counts), /ready: 2\nactive: 1\nawaiting input: 1\nagents awaiting input: 2/);
  assert.equal(statusBarText(countConstructs([])), "$(layers) no constructs");
});

test("services: name, state, each port's URL, the error", () => {
  assert.deepEqual(serviceRows([]), []);
  const rows = serviceRows([
    service({ ports: [{ name: "http", port: 3001, env: "API_PORT", url: "http://127.0.0.1:3001" }] }),
    service({ id: "x-db", name: "db", state: "failed", status: "failed", error: "exited with 1" }),
  ]);
  assert.deepEqual(rows, [
    { label: "api", description: "ready http://127.0.0.1:3001", state: "ready", name: "api" },
    { label: "db", description: "failed exited with 1", state: "failed", name: "db" },
  ]);
  assert.equal(serviceIcon("ready"), "vm-running");
  assert.equal(serviceIcon("something"), "server-process");
});

test("error messages come from the JSON-RPC error's data", () => {
  const err = { code: -32803, message: "Request failed", data: { code: "record-not-found", message: "no construct matches 'x'", exit_code: 3 } };
  assert.equal(errorMessage(err), "no construct matches 'x'");
  assert.equal(errorCode(err), "record-not-found");
  assert.equal(errorMessage(new Error("plain")), "plain");
  assert.equal(errorCode(new Error("plain")), undefined);
});

test("a prompt bundle as markdown: each fragment's source and tokens, then the text", () => {
  const text = promptBundleText(
    {
      template_id: "web",
      fragments: [
        { path: "docs/base.md", entry: "docs/*.md", origin: "promptSources", order: 0, tokens: 12 },
        { path: "docs/x.md", entry: "docs/x.md", origin: "templates.web.prompts", order: null, tokens: 3 },
      ],
      dropped: ["docs/copy.md"],
      token_count: 40,
      token_method: "estimate",
      context_tokens: 5,
      content: "# Base\n\nWork here.\n",
    },
    "what a new construct of template web would get",
  );
  const lines = text.split("\n");
  assert.equal(lines[0], "<!-- what a new construct of template web would get -->");
  assert.equal(lines[1], "<!-- docs/base.md (order 0): ~12 tokens, from promptSources -->");
  assert.equal(lines[2], "<!-- docs/x.md: ~3 tokens, from templates.web.prompts -->");
  assert.equal(lines[3], "<!-- docs/copy.md: dropped (empty or a repeat) -->");
  assert.ok(text.endsWith("# Base\n\nWork here.\n"));
});

test("consentItems takes the items of a consent-required error only, and only well-formed ones", () => {
  const item = { kind: "setup", where: "template t", text: "npm ci", digest: "a".repeat(64) };
  const err = { message: "x", data: { code: "consent-required", message: "x", items: [item, { kind: 1 }, null] } };
  assert.deepEqual(consentItems(err), [item]);
  assert.deepEqual(consentItems({ data: { code: "unsaved-work", items: [item] } }), []);
  assert.deepEqual(consentItems(new Error("plain")), []);
});

test("consentDetail lists each item: its kind, where it is declared, what it runs", () => {
  const detail = consentDetail([
    { kind: "service", where: "service web of template t", text: "npm run dev", digest: "b".repeat(64) },
    { kind: "opencode-config", where: "opencode.json", text: "OpenCode starts MCP servers db (npx db)", digest: "c".repeat(64) },
  ]);
  assert.equal(
    detail,
    "Service (service web of template t): npm run dev\nOpenCode config (opencode.json): OpenCode starts MCP servers db (npx db)",
  );
});

test("a permission reads as what the agent asks: the tool and its command, not its id", () => {
  assert.equal(permissionText({ permission: "bash", patterns: ["echo x > x.txt"] }), "bash: echo x > x.txt");
  assert.equal(permissionText({ permission: "edit", patterns: ["src/a.ts", "src/b.ts"] }), "edit: src/a.ts src/b.ts");
  assert.equal(permissionText({ permission: "webfetch", patterns: [] }), "webfetch");
});

test("the agent row's tooltip holds the session id the row does not show", () => {
  const c = construct({ opencode_session_id: "ses_db2e0207", agent: { state: "idle", pending_permissions: [], usage: null } });
  assert.equal(agentTooltip(c), "agent idle\nOpenCode session ses_db2e0207");
});

test("what an agent cost: in the row, every figure in the tooltips", () => {
  const usage = { input: 1588, output: 6, reasoning: 0, cache_read: 0, cache_write: 0, cost: 0.001612 };
  assert.equal(tokensText(999), "999");
  assert.equal(tokensText(12345), "12.3k");
  assert.equal(tokensText(4_500_000), "4.5M");
  assert.equal(costText(0.001612), "$0.0016");
  assert.equal(costText(12.345), "$12.35");
  assert.equal(usageSummary(usage), "1.6k/6 tokens $0.0016");
  assert.equal(usageSummary(null), "");
  assert.equal(usageSummary({ ...usage, input: 0, output: 0, cost: 0 }), "");
  const c = construct({ opencode_session_id: "ses_1", agent: { state: "idle", pending_permissions: [], usage } });
  assert.equal(constructDescription(c), "synthetic/fix-login-abc123 · agent idle · 1.6k/6 tokens $0.0016");
  assert.equal(agentTooltip(c), "agent idle\ntokens: 1588 in, 6 out · cost: $0.0016\nOpenCode session ses_1");
  assert.match(constructTooltip(c), /tokens: 1588 in, 6 out · cost: \$0\.0016/);
  assert.equal(usageDetail({ ...usage, reasoning: 5, cache_read: 7, cache_write: 2 }),
    "tokens: 1588 in, 6 out (5 reasoning, cache 7 read, 2 written) · cost: $0.0016");
  assert.equal(usageDetail(null), "");
});

test("what every agent of every folder cost together", () => {
  const a = { input: 1000, output: 10, reasoning: 1, cache_read: 2, cache_write: 3, cost: 0.5 };
  const b = { input: 600, output: 5, reasoning: 0, cache_read: 0, cache_write: 1, cost: 0.75 };
  assert.deepEqual(usageTotal([a, null, b]), { input: 1600, output: 15, reasoning: 1, cache_read: 2, cache_write: 4, cost: 1.25 });
  assert.equal(usageTotal([null, undefined]), null);
  assert.equal(usageSummary(usageTotal([a, b])), "1.6k/15 tokens $1.25");
});
