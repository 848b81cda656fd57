"""The commented starter config written by ``synthetic init``.

It must check clean in any repository, so it references no file that might
not exist: the lines that would are left commented out as examples.
"""

from __future__ import annotations

STARTER_CONFIG = """\
// synthetic.config.ts: the templates Synthetic creates constructs from.
//
// This file is read as data and never run. Use literals only (objects,
// arrays, strings, numbers, booleans), top-level `const` values, and
// `process.env.NAME` / `process.env.NAME ?? "default"` for values taken from
// the environment when a construct is created. Check it with:
//
//     synthetic config check
//
import { defineSyntheticConfig } from "@synthetic/config";

export default defineSyntheticConfig({
  // The template used when a construct is created without naming one.
  defaults: { templateId: "default" },

  // Where construct worktrees go and how their branches are named.
  worktrees: {
    // root: "../worktrees", // relative to the repository root; default: outside the checkout
    branchPrefix: "synthetic/",
  },

  // How to reach OpenCode.
  opencode: {
    // defaultProvider: "opencode",
    // defaultModel: "big-pickle",
    token: process.env.OPENCODE_TOKEN,
  },

  // Prompt files added to every construct (paths or globs from the repository root).
  promptSources: [
    // "docs/agents/brief.md",
    // { path: "docs/prompts/**/*.md", order: 1 },
  ],

  // Templates keyed by id (an array of objects with `id` works too).
  templates: {
    default: {
      label: "Default",
      summary: "An agent in its own worktree, no services",
      type: "implementation", // implementation | planning | manual
      // prompts: ["docs/prompts/task.md"],
      // includePatterns: [".env*"], // untracked files copied into the worktree
      // agent: { providerId: "opencode", modelId: "big-pickle" },
      // reviewOnIdle: true, // to `reviewing` (not `ready`) when the agent finishes
      // setup: ["npm ci"],
      services: {
        // web: {
        //   type: "process", // process | docker | compose
        //   run: "npm run dev",
        //   ports: [{ name: "http", preferred: 3000, env: "PORT" }],
        //   readyPattern: "listening on",
        // },
      },
    },
  },
});
"""
