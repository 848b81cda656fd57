// Server results for the unit tests, complete as the generated types demand
// (src/generated/results.ts): each builder fills every field, a test
// overrides the ones it is about.
import type { Construct, RemovalPreview, ServiceState, WorktreeState } from "../src/model";

export function worktree(over: Partial<WorktreeState> = {}): WorktreeState {
  return {
    exists: true,
    branch: "synthetic/fix-login-abc123",
    head: "5555555555555555",
    ahead: 0,
    behind: 0,
    dirty: false,
    changes: [],
    size_bytes: null,
    ...over,
  };
}

export function construct(over: Partial<Construct> = {}): Construct {
  return {
    id: "fix-login-abc123",
    name: "Fix login",
    description: "",
    template_id: "web",
    status: "ready",
    workspace_path: "/src/app.worktrees/fix-login-abc123",
    opencode_session_id: null,
    branch: "synthetic/fix-login-abc123",
    base_ref: "refs/heads/main",
    base_commit: "3333333333333333",
    isolation: null,
    error: null,
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
    extra: {},
    file: "/src/app/.git/synthetic/constructs/fix-login-abc123.toml",
    operation: null,
    host: null,
    remote_id: null,
    group_id: null,
    model: null,
    worktree: worktree(),
    agent: null,
    ...over,
  };
}

export function service(over: Partial<ServiceState> = {}): ServiceState {
  return {
    id: "fix-login-abc123-api",
    construct_id: "fix-login-abc123",
    name: "api",
    type: "process",
    state: "ready",
    status: "ready",
    command: "python3 -m http.server",
    cwd: null,
    env: [],
    pid: 4242,
    container: null,
    ready_pattern: null,
    started_at: null,
    stopped_at: null,
    log: null,
    error: null,
    ports: [],
    ...over,
  };
}

export function removalPreview(over: Partial<RemovalPreview> = {}): RemovalPreview {
  return {
    construct: "fix-login-abc123",
    name: "Fix login",
    worktree: "/src/app.worktrees/fix-login-abc123",
    loses: [],
    locked: null,
    branch: {
      name: "synthetic/fix-login-abc123",
      unmerged: [],
      without_force: "deleted",
      with_force: "deleted",
      reason: null,
    },
    session: null,
    services: [],
    ports: [],
    force_required: false,
    ...over,
  };
}
