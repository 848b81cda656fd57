// Constructs on other machines in the tree: groups by host, remote rows' tooltips
// and menus, and the messages after landing and removing one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { landedMessage } from "../src/changes";
import { constructContext, constructTooltip, hostGroupDescription, hostGroups, hostGroupTooltip, statusIcon } from "../src/format";
import type { LandResult, RemoteLandResult } from "../src/model";
import { removalConfirmation, removedMessage } from "../src/removal";
import { construct, removalPreview } from "./results";

const far = (over = {}) =>
  construct({ id: "fix-it-abc123", name: "Fix it", host: "build-box", remote_id: "fix-it-xyz789", ...over });

test("every construct on this machine: no groups (the tree lists them as before)", () => {
  assert.deepEqual(hostGroups({ constructs: [construct()], hosts: [] }), []);
});

test("a remote construct: This machine first, then one group per host, in the server's order", () => {
  const here = construct();
  const a = far();
  const b = far({ id: "b-1", host: "gpu", remote_id: "b-2" });
  const groups = hostGroups({
    constructs: [a, here, b],
    hosts: [
      { host: "gpu", state: "ok", error: null, code: null },
      { host: "build-box", state: "ok", error: null, code: null },
    ],
  });
  assert.deepEqual(
    groups.map((g) => [g.label, g.host, g.constructs.map((c) => c.id)]),
    [
      ["This machine", null, [here.id]],
      ["gpu", "gpu", ["b-1"]],
      ["build-box", "build-box", ["fix-it-abc123"]],
    ],
  );
  assert.equal(hostGroupDescription(groups[2]), "1");
  assert.equal(hostGroupTooltip(groups[0]), "Constructs on this machine");
});

test("a host that does not answer: its group says so, its constructs keep the server's mark", () => {
  const a = far({ status: "unreachable", branch: null, workspace_path: null, worktree: null });
  const [, down] = hostGroups({
    constructs: [a],
    hosts: [{ host: "build-box", state: "unreachable", error: "ssh: connect to host: refused", code: "host-unreachable" }],
  });
  assert.equal(down.state, "unreachable");
  assert.equal(hostGroupDescription(down), "1 · unreachable");
  assert.match(hostGroupTooltip(down), /Constructs on host build-box\nunreachable: ssh: connect to host: refused/);
  assert.equal(statusIcon("unreachable").icon, "debug-disconnect");
  assert.notEqual(statusIcon("missing").icon, "question");
});

test("a remote row: its tooltip says the host and the id there; its menus say remote", () => {
  const tip = constructTooltip(far());
  assert.match(tip, /host: build\\-box/);
  assert.match(tip, /remote id: `fix-it-xyz789`/);
  assert.match(tip, /worktree: \/src\/app.worktrees\/fix-login-abc123 on build-box/);
  assert.doesNotMatch(constructTooltip(construct()), /host:/);
  // Land, discard and remove (branch, construct); no folder here to open, no local session.
  assert.equal(constructContext(far({ opencode_session_id: "ses_1" })), "construct remote branch");
  assert.equal(constructContext(far({ branch: null })), "construct remote");
});

test("after landing or removing a remote construct, the message names its host", () => {
  const remote: RemoteLandResult = {
    id: "fix-it-abc123", host: "build-box", remote_id: "fix-it-xyz789", branch: "synthetic/fix-it-xyz789",
    head: "9999999999", strategy: "merge", target: "main", checkout: "/src/app", before: "1111111111",
    after: "2222222222", fast_forward: false, commits: 2, staged: [], marked: false,
    notes: ["the construct on host build-box was not marked completed: gone"], removal: null,
  };
  assert.equal(
    landedMessage("Fix it", remote),
    "Synthetic: landed Fix it (from host build-box) into main (merge, 2 commit(s)): 1111111 → 2222222. " +
      "Notes: the construct on host build-box was not marked completed: gone",
  );
  const local: LandResult = {
    construct: construct(), strategy: "merge", target: "main", checkout: "/src/app", before: "1111111111",
    after: "2222222222", fast_forward: true, commits: 1, staged: [], removed: null, removal: null,
  };
  assert.equal(landedMessage("Fix login", local), "Synthetic: landed Fix login into main (fast-forward, 1 commit(s)): 1111111 → 2222222.");
  assert.equal(
    removedMessage("Fix it", { removed: "fix-it-abc123", host: "build-box", remote_id: "fix-it-xyz789", remote: {} }),
    "Synthetic: removed Fix it on host build-box.",
  );
  const asked = removalConfirmation(removalPreview({ construct: "fix-it-abc123", name: "Fix it" }), 15, "build-box");
  assert.equal(asked.message, 'Remove construct "Fix it" (fix-it-abc123) on host build-box?');
});
