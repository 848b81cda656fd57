import assert from "node:assert/strict";
import { test } from "node:test";
import { removalConfirmation, removedMessage, REMOVE, REMOVE_AND_LOSE } from "../src/removal";
import { removalPreview } from "./results";

const commit = (id: string, subject: string) => ({ id, time: 1, author: "a", subject, files: [] });

test("a clean construct: Remove, and the list of what goes", () => {
  const c = removalConfirmation(
    removalPreview({ session: "ses_1", services: ["api"], ports: [18765] }),
  );
  assert.equal(c.action, REMOVE);
  assert.equal(c.force, false);
  assert.equal(c.message, 'Remove construct "Fix login" (fix-login-abc123)?');
  assert.equal(
    c.detail,
    [
      "Deleted:",
      "• the worktree /src/app.worktrees/fix-login-abc123",
      "• the branch synthetic/fix-login-abc123",
      "• the agent session ses_1",
      "• the services api (stopped)",
      "• the ports 18765 (released)",
    ].join("\n"),
  );
});

test("work the server says is lost: Remove and Lose Work, every item listed", () => {
  const items = Array.from({ length: 4 }, (_v, i) => `?? notes${i}.txt`);
  const c = removalConfirmation(
    removalPreview({
      force_required: true,
      loses: [
        { kind: "uncommitted", what: "uncommitted changes (commit or stash them)", items },
        { kind: "operation", what: "a rebase stopped half-way", items: [] },
      ],
    }),
    3,
  );
  assert.equal(c.action, REMOVE_AND_LOSE);
  assert.equal(c.force, true);
  assert.match(c.message, /and lose its work\?$/);
  assert.match(
    c.detail,
    /Lost:\n• uncommitted changes \(commit or stash them\):\n {3}– \?\? notes0.txt\n {3}– \?\? notes1.txt\n {3}– \?\? notes2.txt\n {3}– … and 1 more\n• a rebase stopped half-way$/,
  );
});

test("the branch's fate is the server's, for the force the removal will use", () => {
  const branch = {
    name: "synthetic/x",
    unmerged: [commit("aaaaaaa1", "try it")],
    without_force: "kept" as const,
    with_force: "deleted" as const,
    reason: "1 commit(s) not merged into its base",
  };
  const kept = removalConfirmation(removalPreview({ branch }));
  assert.match(kept.detail, /Kept:\n• the branch synthetic\/x \(1 commit\(s\) not merged into its base\)/);
  assert.doesNotMatch(kept.detail, /Lost:/);
  const forced = removalConfirmation(
    removalPreview({ branch, force_required: true, loses: [{ kind: "uncommitted", what: "uncommitted changes", items: [" M a"] }] }),
  );
  assert.match(forced.detail, /Deleted:\n(.*\n)*• the branch synthetic\/x\n/);
  assert.match(forced.detail, /Lost:\n• 1 commit of the branch synthetic\/x not on its base:\n {3}– aaaaaaa try it\n/);
  assert.doesNotMatch(forced.detail, /Kept:/);
});

test("a locked worktree is said", () => {
  const c = removalConfirmation(removalPreview({ locked: "on a USB disk", force_required: true }));
  assert.equal(c.action, REMOVE_AND_LOSE);
  assert.match(c.detail, /The worktree is locked \(on a USB disk\); it is removed anyway\.$/);
});

test("after removal: what was kept comes from the result's kept list", () => {
  assert.equal(removedMessage("Fix login", { removed: "x", notes: ["kept branch b (whatever)"], kept: [] }), undefined);
  assert.equal(
    removedMessage("Fix login", {
      removed: "x",
      notes: [],
      kept: [
        { what: "branch", name: "synthetic/x", reason: "1 commit(s) not merged into its base" },
        { what: "session", name: "ses_1", reason: "asked to keep it" },
      ],
    }),
    "Synthetic: removed Fix login; kept the branch synthetic/x (1 commit(s) not merged into its base); " +
      "kept the agent session ses_1 (asked to keep it).",
  );
});
