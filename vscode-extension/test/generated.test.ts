// src/generated/results.ts is what scripts/gen-types.mjs makes from the
// server's result schemas now (synthetic_ls/schemas/results/): a change of a
// result's shape on the server side fails here until the types are
// regenerated (npm run gen:types), and then tsc checks every use.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";

test("the generated result types are those of the current schemas", () => {
  const root = path.join(__dirname, "..");
  const run = spawnSync(process.execPath, [path.join(root, "scripts", "gen-types.mjs"), "--check"], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(run.status, 0, `${run.stderr}${run.stdout}`);
});
