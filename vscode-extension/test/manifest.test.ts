// The manifest's promises: workspace trust, activation, the view, settings.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

interface Manifest {
  activationEvents: string[];
  capabilities: { untrustedWorkspaces: { supported: string | boolean; restrictedConfigurations: string[] } };
  contributes: {
    commands: { command: string; enablement?: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
    views: Record<string, { id: string }[]>;
    viewsContainers: { activitybar: { id: string }[] };
    configuration: { properties: Record<string, unknown> };
    typescriptServerPlugins: { name: string }[];
  };
}

const manifest: Manifest = JSON.parse(readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));

/** Commands that create or start something: never offered in an untrusted workspace. */
const CREATE_OR_START = [
  "synthetic.newConstruct",
  "synthetic.openSession",
  "synthetic.sendPrompt",
  "synthetic.sendDraft",
  "synthetic.approve",
  "synthetic.initConfig",
  "synthetic.startService",
  "synthetic.restartService",
  "synthetic.landConstruct", // runs the repository's git hooks
  "synthetic.runChecks", // runs the template's commands
];

test("untrusted workspaces: limited, no create or start command offered", () => {
  const trust = manifest.capabilities.untrustedWorkspaces;
  assert.equal(trust.supported, "limited");
  for (const key of ["synthetic.interpreter", "synthetic.serverArgs", "synthetic.serverEnv"]) {
    assert.ok(trust.restrictedConfigurations.includes(key), key);
  }
  for (const id of CREATE_OR_START) {
    const command = manifest.contributes.commands.find((c) => c.command === id);
    assert.equal(command?.enablement, "isWorkspaceTrusted", id);
    for (const [menu, items] of Object.entries(manifest.contributes.menus)) {
      for (const item of items.filter((i) => i.command === id)) {
        assert.match(item.when ?? "", /isWorkspaceTrusted|^false$/, `${menu}: ${id}`);
      }
    }
  }
});

test("every menu item names a contributed command", () => {
  const ids = new Set(manifest.contributes.commands.map((c) => c.command));
  for (const items of Object.values(manifest.contributes.menus)) {
    for (const item of items) assert.ok(ids.has(item.command), item.command);
  }
});

test("activation on a config in the workspace; the view in its own container", () => {
  assert.ok(manifest.activationEvents.includes("workspaceContains:synthetic.config.ts"));
  assert.ok(!manifest.activationEvents.some((e) => e.startsWith("onLanguage")), "not every TypeScript project");
  assert.deepEqual(manifest.contributes.viewsContainers.activitybar.map((c) => c.id), ["synthetic"]);
  assert.deepEqual(manifest.contributes.views.synthetic.map((v) => v.id), ["synthetic.constructs"]);
  assert.deepEqual(manifest.contributes.typescriptServerPlugins.map((p) => p.name), ["synthetic-ts-plugin"]);
  assert.ok("synthetic.interpreter" in manifest.contributes.configuration.properties);
});
