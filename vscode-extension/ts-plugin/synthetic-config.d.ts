// Type declarations of synthetic.config.ts, generated from its JSON Schema by
// synthetic_ls/config/dts.py (`synthetic config schema --format dts`).
// Do not edit: regenerate. They describe what Synthetic's checker accepts, so
// that TypeScript's own server understands the file too.

declare namespace NodeJS {
  interface ProcessEnv {
    [key: string]: string | undefined;
  }
  interface Process {
    env: ProcessEnv;
  }
}
declare var process: NodeJS.Process;

declare module "@synthetic/config" {
  /** Which model and agent the construct's OpenCode session uses. */
  export interface Agent {
    /** OpenCode provider id (e.g. `opencode`, `anthropic`). */
    providerId: string;
    /** Model id within the provider. */
    modelId?: string | null;
    /** OpenCode agent to use (e.g. `build`). */
    agentId?: string | null;
  }

  /**
   * A command that tells whether a construct's work is good (tests, a linter), run in its
   * worktree by `synthetic check`: exit status 0 passes.
   */
  export interface Check {
    /** Shell command, run in the construct's worktree (e.g. `pytest -q`). */
    run: string;
    /** Working directory relative to the worktree root; must stay inside it. */
    cwd?: string | null;
    /** Environment variables for the check, on top of the template's `env`; values may be `process.env.X`. */
    env?: { [key: string]: string | undefined };
    /** Stop the check (and fail it) after this many milliseconds (default 600000, ten minutes). */
    timeoutMs?: number | null;
  }

  /**
   * Services from a docker compose file, as project ``synthetic-<construct id>`` on the
   * host's network (Synthetic adds ``network_mode: host`` to each of its services; the port
   * variables are in the environment for the file's ``${...}``).
   */
  export interface ComposeService {
    /** Service id, unique within the template. In the record form it defaults to the key. */
    id?: string;
    /** Display name. Defaults to the id. */
    name?: string;
    /** Environment variables for the service; values may be `process.env.X`. */
    env?: { [key: string]: string | undefined };
    /** Service kind. */
    type: "compose";
    /** Compose file relative to the repository root. */
    file: string;
    /** Compose services to start; all when empty. */
    services?: readonly string[];
  }

  /** Defaults applied when a command does not say otherwise. */
  export interface Defaults {
    /** Template used when creating a construct without naming one. */
    templateId?: string | null;
  }

  /**
   * A container run from an image on the host's network (``--network host``), listening
   * on its allocated ports itself: each is given to it in its port variable.
   */
  export interface DockerService {
    /** Service id, unique within the template. In the record form it defaults to the key. */
    id?: string;
    /** Display name. Defaults to the id. */
    name?: string;
    /** Environment variables for the service; values may be `process.env.X`. */
    env?: { [key: string]: string | undefined };
    /** Service kind. */
    type: "docker";
    /** Image to run (e.g. `postgres:16`). */
    image: string;
    /** Command passed to the container (a string or a list of arguments). */
    command?: unknown;
    /** Port requests: objects, or docker strings "CONTAINER" / "HOST:CONTAINER" (no mapping: the container listens on the allocated port, its variable says which). */
    ports?: readonly (PortRequest | string)[];
    /** Volume mounts in docker syntax (`name:/path`). */
    volumes?: readonly string[];
    /** Regular expression (JavaScript syntax) matched against the service's output; the service counts as ready at the first match. */
    readyPattern?: string | null;
    /** How long to wait for `readyPattern`, in milliseconds. */
    readyTimeoutMs?: number | null;
  }

  /**
   * Run the construct's agent (its OpenCode server) and its services in a sandbox.
   * 
   * ``bubblewrap``: no image, starts at once; the root read-only, the worktree
   * writable, the person's home, the state folder, the main checkout and the
   * other constructs' worktrees hidden. ``container``: the same, in a container
   * from ``image`` or from a ``devcontainer.json``, on the local Docker engine.
   */
  export interface Isolation {
    /** `bubblewrap` (a sandbox with no image) or `container` (Docker). */
    runtime: "bubblewrap" | "container";
    /** Container image (`container` only; or `devcontainer`). */
    image?: string | null;
    /** A `devcontainer.json` whose `image` the container uses (`container` only; or `image`). */
    devcontainer?: string | null;
  }

  /** How to reach OpenCode and which model to use by default. */
  export interface OpenCode {
    /** URL of an OpenCode server to use (e.g. `http://127.0.0.1:4096`); when unset, Synthetic starts and manages one per repository. */
    url?: string | null;
    /** OpenCode workspace id. */
    workspaceId?: string | null;
    /** Access token; usually `process.env.OPENCODE_TOKEN`. */
    token?: string | undefined | null;
    /** Provider used when a template's agent names none. */
    defaultProvider?: string | null;
    /** Model used when a template's agent names none. */
    defaultModel?: string | null;
  }

  /** A port a service needs; Synthetic allocates a free host port for each construct. */
  export interface PortRequest {
    /** Name of the port, unique within the service (e.g. `http`). */
    name: string;
    /** Host port to use when it is free; another is allocated otherwise. */
    preferred?: number | null;
    /** Docker services: the port the image listens on by default. Not a mapping: containers use the host's network, so the container must listen on the allocated port, given in the port's variable. */
    container?: number | null;
    /** Environment variable that receives the allocated port (e.g. `PORT`). */
    env?: string | null;
  }

  /** A local process started with a shell command in the construct's worktree. */
  export interface ProcessService {
    /** Service id, unique within the template. In the record form it defaults to the key. */
    id?: string;
    /** Display name. Defaults to the id. */
    name?: string;
    /** Environment variables for the service; values may be `process.env.X`. */
    env?: { [key: string]: string | undefined };
    /** Service kind; `process` when omitted. */
    type?: "process";
    /** Shell command that starts the service (e.g. `npm run dev`). */
    run: string;
    /** Commands run once before the first start (a string or a list). */
    setup?: readonly string[] | string;
    /** Working directory relative to the worktree root; must stay inside it. */
    cwd?: string | null;
    /** Regular expression (JavaScript syntax) matched against the service's output; the service counts as ready at the first match. */
    readyPattern?: string | null;
    /** How long to wait for `readyPattern`, in milliseconds. */
    readyTimeoutMs?: number | null;
    /** Shell command that stops the service; SIGTERM when omitted. */
    stop?: string | null;
    /** Ports the service needs allocated. */
    ports?: readonly PortRequest[];
  }

  /** Prompt files added to every construct's prompt bundle. */
  export interface PromptSource {
    /** File or glob relative to the repository root. */
    path: string;
    /** Position in the bundle: lower first; ties keep file order. */
    order?: number;
  }

  /** A kind of construct: its prompts, services, ports, environment and agent. */
  export interface Template {
    /** Template id. In the record form it defaults to the key. */
    id?: string;
    /** Human name shown in pickers. Defaults to the id. */
    label?: string;
    /** One-line description. */
    summary?: string | null;
    /** Kind of work: `implementation`, `planning` or `manual` (the default). */
    type?: "implementation" | "planning" | "manual";
    /** Services started for each construct: a record keyed by id or an array with ids. */
    services?: { [key: string]: ProcessService | DockerService | ComposeService } | readonly (ProcessService | DockerService | ComposeService)[];
    /** Environment for the agent and every service. */
    env?: { [key: string]: string | undefined };
    /** Prompt files (paths or globs relative to the repository root). */
    prompts?: readonly string[];
    /** Agent settings for the session. */
    agent?: Agent | null;
    /** Shell commands run in a new worktree before services start. */
    setup?: readonly string[] | string;
    /** Shell commands run before the worktree is removed. */
    teardown?: readonly string[] | string;
    /** Untracked files copied into the worktree (globs, e.g. `.env*`). */
    includePatterns?: readonly string[];
    /** Template-level port requests (older shape): {name, preferred, port, service}. */
    ports?: readonly TemplatePort[];
    /** Run the agent and services in a sandbox: `{ runtime: "bubblewrap" }` or `{ runtime: "container", image: "..." }`. */
    isolation?: Isolation | null;
    /** Checks of a construct's work, keyed by name: a shell command, or `{ run, cwd, env, timeoutMs }` (e.g. `{ test: "pytest -q", lint: { run: "ruff check ." } }`). `synthetic check` runs them in the worktree. */
    checks?: { [key: string]: Check | string };
    /** Move a construct to `reviewing` (instead of `ready`) when its agent finishes a turn well. */
    reviewOnIdle?: boolean;
  }

  /** A template-level port request (older shape): ``{name, preferred, port, service}``. */
  export interface TemplatePort {
    /** Name of the port, unique within the template. */
    name: string;
    /** Host port to use when it is free. */
    preferred?: number | null;
    /** Older spelling of `preferred`; `preferred` wins when both are set. */
    port?: number | null;
    /** Id of the service of this template that uses the port. */
    service?: string | null;
  }

  /** Where construct worktrees go and how their branches are named. */
  export interface Worktrees {
    /** Folder for construct worktrees; relative paths resolve against the repository root. Unset: the default location outside the checkout. */
    root?: string | null;
    /** Prefix of construct branch names (default "synthetic/"). */
    branchPrefix?: string;
  }

  /** The whole synthetic.config.ts: templates and the settings shared by all constructs. */
  export interface SyntheticConfig {
    /** OpenCode connection. */
    opencode?: OpenCode;
    /** Prompt files for every construct: paths/globs or {path, order}. */
    promptSources?: readonly (PromptSource | string)[];
    /** Templates: a record keyed by id or an array of templates with `id`. */
    templates?: { [key: string]: Template } | readonly Template[];
    /** Defaults. */
    defaults?: Defaults;
    /** Worktree location and branch naming. */
    worktrees?: Worktrees;
  }

  /** Identity: returns the config, typed (Synthetic reads the file as data, never runs it). */
  export function defineSyntheticConfig(config: SyntheticConfig): SyntheticConfig;
  export default defineSyntheticConfig;
}
