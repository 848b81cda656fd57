// Type declaration of synthetic.config.ts for the TypeScript baseline of
// bench/bench_config.py: `tsc --noEmit` checks a config against these types.
declare const process: { env: Record<string, string | undefined> };

declare module "@synthetic/config" {
  type PortRequest = { name: string; preferred?: number; container?: number; env?: string };
  type Env = Record<string, string | undefined>;
  type Base = { id?: string; name?: string; env?: Env };
  type ProcessService = Base & {
    type?: "process";
    run: string;
    setup?: string | string[];
    cwd?: string;
    readyPattern?: string;
    readyTimeoutMs?: number;
    stop?: string;
    ports?: PortRequest[];
  };
  type DockerService = Base & {
    type: "docker";
    image: string;
    command?: string | string[];
    ports?: (PortRequest | string | number)[];
    volumes?: string[];
    readyPattern?: string;
    readyTimeoutMs?: number;
  };
  type ComposeService = Base & { type: "compose"; file: string; services?: string[] };
  type Service = ProcessService | DockerService | ComposeService;
  type Template = {
    id?: string;
    label?: string;
    summary?: string;
    type?: "implementation" | "planning" | "manual";
    services?: Record<string, Service> | (Service & { id: string })[];
    env?: Env;
    prompts?: string[];
    agent?: { providerId: string; modelId?: string; agentId?: string };
    setup?: string | string[];
    teardown?: string | string[];
    includePatterns?: string[];
    reviewOnIdle?: boolean;
    ports?: { name: string; preferred?: number; port?: number; service?: string }[];
  };
  export type SyntheticConfig = {
    opencode?: {
      workspaceId?: string;
      token?: string;
      defaultProvider?: string;
      defaultModel?: string;
    };
    promptSources?: (string | { path: string; order?: number })[];
    templates?: Record<string, Template> | (Template & { id: string })[];
    defaults?: { templateId?: string };
    worktrees?: { root?: string; branchPrefix?: string };
  };
  export function defineSyntheticConfig(config: SyntheticConfig): SyntheticConfig;
}
