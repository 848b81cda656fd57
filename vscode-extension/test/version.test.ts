import assert from "node:assert/strict";
import { test } from "node:test";
import { checkServerVersion, compareVersions, installAdvice, parseVersion } from "../src/version";

test("parse the --version output", () => {
  assert.deepEqual(parseVersion("synthetic-ls 0.1.0\n"), [0, 1, 0]);
  assert.deepEqual(parseVersion("1.2"), [1, 2, 0]);
  assert.equal(parseVersion("no version"), undefined);
});

test("compare", () => {
  assert.ok(compareVersions([0, 1, 2], [0, 1, 10]) < 0);
  assert.equal(compareVersions([1, 0, 0], [1, 0, 0]), 0);
});

test("a version that fits", () => {
  assert.deepEqual(checkServerVersion("synthetic-ls 0.1.0", "0.1.0"), { ok: true, version: "0.1.0" });
  assert.equal(checkServerVersion("synthetic-ls 0.1.7", "0.1.0").ok, true);
});

test("too old, too new, unreadable", () => {
  const old = checkServerVersion("synthetic-ls 0.1.0", "0.1.2");
  assert.equal(old.ok, false);
  assert.match(old.problem ?? "", /too old.*0\.1\.2/);
  const newer = checkServerVersion("synthetic-ls 0.2.0", "0.1.0");
  assert.equal(newer.ok, false);
  assert.match(newer.problem ?? "", /newer than this extension supports \(0\.1\.x\)/);
  assert.equal(checkServerVersion("synthetic-ls 2.0.0", "1.0.0").ok, false);
  assert.equal(checkServerVersion("synthetic-ls 1.4.0", "1.0.0").ok, true);
  assert.match(checkServerVersion("garbage").problem ?? "", /could not read a version/);
});

test("the advice names the interpreter", () => {
  assert.match(installAdvice("/opt/py/bin/python"), /^\/opt\/py\/bin\/python -m pip install -e/);
  assert.match(installAdvice("/my dir/python"), /^"\/my dir\/python" -m pip/);
});
