import { defineSyntheticConfig } from "@synthetic/config";

/**
 * Built-in example for `bash scripts/setup.sh`: a realistic config with a few
 * deliberate mistakes (marked MISTAKE) so that `synthetic config check` has
 * something to report. The file is read as data; nothing in it is ever run.
 */

const apiPort = 3000;

const nodeService = {
  type: "process",
  readyTimeoutMs: 10000,
  env: { NODE_ENV: "development" },
} as const;

export default defineSyntheticConfig({
  defaults: { templateId: "web-api" },
  worktrees: { root: "../demo-worktrees", branchPrefix: "synthetic/" },
  opencode: {
    defaultProvider: "opencode",
    defaultModel: "big-pickle",
    token: process.env.OPENCODE_TOKEN ?? "",
  },
  promptSources: [
    { path: "docs/agents/base-brief.md", order: 0 },
    "docs/prompts/**/*.md",
  ],
  templates: {
    "web-api": {
      label: "Web API Server",
      summary: "API server with a Postgres container",
      type: "implementation",
      includePatterns: [".env*"],
      prompts: ["docs/prompts/api.md"],
      agent: { providerId: "opencode", modelId: "big-pickle" },
      setup: ["npm ci"],
      services: {
        api: {
          ...nodeService,
          run: "npm run dev",
          cwd: "./api",
          ports: [{ name: "http", preferred: apiPort, env: "PORT" }],
          readyPatern: "listening on", // MISTAKE: typo of readyPattern
        },
        worker: {
          ...nodeService,
          run: "npm run worker",
          ports: [{ name: "metrics", preferred: apiPort, env: "METRICS_PORT" }], // MISTAKE: same port as api
          readyPattern: "worker (started", // MISTAKE: unbalanced parenthesis
        },
        db: {
          type: "docker",
          image: "postgres:16",
          ports: ["5432:5432"],
          env: { POSTGRES_PASSWORD: process.env.PGPASSWORD ?? "dev" },
          volumes: ["pgdata:/var/lib/postgresql/data"],
          readyPattern: "ready to accept connections",
          readyTimeoutMs: 15000,
        },
      },
      teardown: ["npm run clean"],
    },
    frontend: {
      id: "front-end", // MISTAKE: differs from its key
      label: "Frontend",
      type: "implementaton", // MISTAKE: misspelt template type
      prompts: ["docs/prompts/frontend.md", "../secrets/prompt.md"], // MISTAKE: path outside the repository
      agent: { modelId: "big-pickle" }, // MISTAKE: no providerId
      services: [
        { id: "web", run: "npm run dev:web", ports: [{ name: "web", preferred: 70000 }] }, // MISTAKE: port out of range
      ],
    },
    planning: {
      label: "Planning Session",
      type: "planning",
      prompts: ["docs/prompts/planning.md"], // MISTAKE (warning): no such file
      env: { BUILD_ID: `build-${Date.now()}` }, // MISTAKE: code, not data
    },
  },
});
