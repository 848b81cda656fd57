import assert from "node:assert/strict";
import { test } from "node:test";
import {
  changeDescription,
  commitOffer,
  changedFiles,
  diffTitle,
  discardConfirmation,
  landConfirmation,
  STRATEGIES,
  versionText,
  withSubject,
} from "../src/changes";
import type { DiffResult, FileVersion } from "../src/model";

function diff(over: Partial<DiffResult> = {}): DiffResult {
  return {
    construct: "fix-abc",
    branch: "synthetic/fix-abc",
    head: "1111111111111111",
    target: "main",
    target_tip: "2222222222222222",
    merge_base: "3333333333333333",
    worktree: "/wt/fix-abc",
    commits: [{ id: "4444444444", time: 1, author: "a", subject: "change util", files: ["src/util.py"] }],
    files: [
      { path: "src/util.py", status: "M", additions: 1, deletions: 1 },
      { path: "src/new.py", status: "A", additions: 3, deletions: 0 },
      { path: "old.txt", status: "D", additions: 0, deletions: 2 },
    ],
    uncommitted: [{ path: "notes.txt", status: "?", additions: null, deletions: null }],
    stat: { files: 3, additions: 4, deletions: 3 },
    uncommitted_stat: { files: 1, additions: 0, deletions: 0 },
    ...over,
  };
}

test("committed and uncommitted files merge by path, sorted", () => {
  const files = changedFiles(diff());
  assert.deepEqual(
    files.map((f) => [f.path, f.status, f.place, f.inWorktree]),
    [
      ["notes.txt", "?", "uncommitted", true],
      ["old.txt", "D", "committed", false],
      ["src/new.py", "A", "committed", true],
      ["src/util.py", "M", "committed", true],
    ],
  );
});

test("a file committed and changed again compares base with the worktree", () => {
  const again = diff({
    uncommitted: [
      { path: "src/util.py", status: "D", additions: 0, deletions: 1 },
      { path: "src/new.py", status: "M", additions: 1, deletions: 0 },
    ],
  });
  const byPath = Object.fromEntries(changedFiles(again).map((f) => [f.path, f]));
  assert.equal(byPath["src/util.py"].status, "D"); // in the base, gone from the worktree
  assert.equal(byPath["src/util.py"].inWorktree, false);
  assert.equal(byPath["src/new.py"].status, "A"); // not in the base
  assert.equal(byPath["src/new.py"].place, "both");
  assert.equal(byPath["src/new.py"].additions, null);
  assert.match(changeDescription(byPath["src/new.py"]), /committed, and changed since/);
});

test("descriptions, summary and the diff title", () => {
  const [notes, old, added] = changedFiles(diff());
  assert.equal(changeDescription(notes), "untracked · uncommitted");
  assert.equal(changeDescription(old), "deleted · +0 −2");
  assert.equal(changeDescription(added), "src · added · +3 −0");
  assert.equal(diffTitle(added, diff()), "new.py (main @ 3333333 ↔ worktree)");
  assert.equal(diffTitle(old, diff()), "old.txt (main @ 3333333 ↔ deleted)");
  const noWorktree = diff({ worktree: null });
  const first = changedFiles(noWorktree).find((f) => f.path === "src/util.py");
  assert.ok(first && !first.inWorktree);
  assert.equal(diffTitle(first, noWorktree), "util.py (main @ 3333333 ↔ synthetic/fix-abc @ 1111111)");
});

test("a version without text says why", () => {
  const v: FileVersion = {
    construct: "c", path: "a.bin", at: "base", commit: "abcdefabcdefabcdef", exists: true,
    size: 9, binary: true, too_large: false, text: null,
  };
  assert.match(versionText(v), /a binary file of 9 bytes at abcdefabcdef/);
  assert.match(versionText({ ...v, binary: false, too_large: true }), /too large to show/);
  assert.equal(versionText({ ...v, exists: false }), "");
  assert.equal(versionText({ ...v, text: "x\n" }), "x\n");
});

test("land and discard confirmations list what matters", () => {
  assert.deepEqual(STRATEGIES.map((s) => s.id), ["merge", "squash", "rebase", "apply"]);
  const commits = diff().commits;
  const plan = {
    construct: "fix-abc", branch: "b", strategy: "squash", target: "main", checkout: "/src/app",
    head: "1111111111111111", target_tip: "2222222222222222", commits, message: "Fix login\n\nMake it work\n",
  };
  const land = landConfirmation("Fix login", plan);
  assert.equal(land.message, "Land Fix login into main (squash, 1 commit)?");
  assert.match(land.detail, /4444444 change util/);
  assert.match(land.detail, /Commit message:\nFix login\n\nMake it work$/);
  const apply = landConfirmation("Fix login", { ...plan, strategy: "apply", message: null });
  assert.match(apply.message, /^Apply Fix login's 1 commit to main, staged and uncommitted\?$/);
  assert.doesNotMatch(apply.detail, /Commit message/);
  assert.equal(withSubject(plan.message, "  Login fixed "), "Login fixed\n\nMake it work\n");
  const gone = discardConfirmation("Fix login", {
    construct: "fix-abc", branch: "synthetic/fix-abc", unmerged: commits,
    uncommitted: [{ path: "notes.txt", status: "?", additions: null, deletions: null }],
    loses: [
      { kind: "uncommitted", what: "uncommitted changes (commit or stash them)", items: ["?? notes.txt"] },
      { kind: "include-files", what: "ignored include files that are not unchanged copies", items: ["!! .env (ignored; differs)"] },
    ],
  });
  assert.equal(gone.message, "Discard Fix login and delete its branch synthetic/fix-abc?");
  assert.match(gone.detail, /1 commit\(s\) never landed are lost:\n4444444 change util/);
  assert.match(gone.detail, /1 uncommitted change\(s\) are lost:\n\? notes.txt/);
  assert.match(gone.detail, /Lost: ignored include files that are not unchanged copies:\n!! \.env/);
  assert.equal(gone.detail.match(/notes\.txt/g)?.length, 1); // listed once, not again under loses
  const many = discardConfirmation("Fix login", {
    construct: "fix-abc", branch: null, unmerged: [],
    uncommitted: Array.from({ length: 17 }, (_v, i) => ({ path: `f${i}`, status: "?", additions: null, deletions: null })),
    loses: [],
  });
  assert.match(many.detail, /\? f14\n… and 2 more$/);
});

test("the offer to commit lists the files, and says include files stay out", () => {
  const offer = commitOffer("Fix login", ["M src/a.py", "? notes.txt"]);
  assert.equal(offer.message, "Fix login has 2 uncommitted change(s), which landing would leave behind. Commit them first?");
  assert.match(offer.detail, /^M src\/a.py\n\? notes.txt\n\nInclude files/);
  const many = commitOffer("x", Array.from({ length: 20 }, (_, i) => `? f${i}`));
  assert.match(many.detail, /… and 5 more/);
});
