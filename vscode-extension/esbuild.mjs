// Bundle the extension (dist/extension.js), or build the unit tests
// (out-test/). The TypeScript server plugin (ts-plugin/) is not bundled:
// scripts/add_ts_plugin.py puts it in the .vsix as
// node_modules/synthetic-ts-plugin, where VS Code's TypeScript server looks.
import { build, context } from "esbuild";
import { readdirSync, rmSync } from "node:fs";

const args = new Set(process.argv.slice(2));
const production = args.has("--production");

const extension = {
  entryPoints: ["src/extension.ts"],
  bundle: true,
  outfile: "dist/extension.js",
  external: ["vscode"],
  format: "cjs",
  platform: "node",
  target: "node18",
  sourcemap: !production,
  minify: production,
  logLevel: "warning",
};

if (args.has("--tests")) {
  rmSync("out-test", { recursive: true, force: true });
  await build({
    entryPoints: readdirSync("test").filter((f) => f.endsWith(".test.ts")).map((f) => `test/${f}`),
    bundle: true,
    outdir: "out-test",
    format: "cjs",
    platform: "node",
    target: "node20",
    external: ["vscode"],
    logLevel: "warning",
  });
} else if (args.has("--watch")) {
  const ctx = await context(extension);
  await ctx.watch();
} else {
  await build(extension);
}
