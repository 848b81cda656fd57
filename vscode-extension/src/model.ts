// The JSON the server's commands return (README "`--json` output", version 1).
// Only what the extension reads is typed; everything else passes through.

export interface WorktreeState {
  exists: boolean;
  branch?: string | null;
  head?: string | null;
  ahead?: number | null;
  behind?: number | null;
  dirty?: boolean | null;
  changes?: string[] | null;
}

export interface AgentState {
  state: string; // busy | idle | awaiting_input | error | unknown
  pending_permissions: string[];
}

export interface ServicePort {
  name?: string;
  port?: number | null;
  env?: string | null;
  url?: string | null;
}

/** A service (`synthetic.services.status`, README "Services"): `state` is `status` as seen now. */
export interface ServiceState {
  name?: string;
  id?: string;
  state?: string;
  status?: string;
  port?: number | null;
  ports?: ServicePort[] | Record<string, number> | number[] | null;
  pid?: number | null;
  url?: string | null;
  error?: string | null;
}

export interface ServicesStatus {
  construct_id?: string;
  services: ServiceState[];
  notes?: string[];
}

export interface Construct {
  id: string;
  name: string;
  description?: string;
  template_id?: string | null;
  status: string;
  workspace_path?: string | null;
  opencode_session_id?: string | null;
  branch?: string | null;
  file?: string;
  /** Which step failed, for a construct kept in status `error`. */
  error?: string | null;
  worktree?: WorktreeState | null;
  agent?: AgentState | null;
  /** Issue 12 (services and ports): rendered when present, never required. */
  services?: ServiceState[] | Record<string, ServiceState> | null;
}

export interface BrokenRecord {
  path?: string;
  file?: string;
  error?: string;
  message?: string;
  line?: number | null;
}

export interface ConstructList {
  version: number;
  constructs: Construct[];
  broken: BrokenRecord[];
}

export interface TemplateInfo {
  id: string;
  label?: string | null;
  summary?: string | null;
  type?: string | null;
  services?: string[];
}

export interface TemplateList {
  templates: TemplateInfo[];
  default?: string | null;
}

export interface Finding {
  id: string;
  kind: string;
  subject: { type: string; ref: string };
  message: string;
  advice?: string | null;
  fixable: boolean;
  fixed: boolean;
  fix_notes?: string[];
}

export interface DoctorReport {
  findings: Finding[];
  unresolved: number;
}

export interface PendingPermission {
  id: string;
  permission: string;
  patterns?: string[];
}

/** `synthetic.prompts.preview` / `.build`: a prompt bundle and where its parts came from. */
export interface PromptBundle {
  template_id?: string;
  construct?: string;
  delivered?: boolean;
  fragments: { path: string; origin: string; order: number | null; tokens: number }[];
  dropped: string[];
  token_count: number;
  token_method: string;
  content: string;
}

/** A changed file (README "Review and land"): `status` is git's letter, `?` untracked. */
export interface FileChange {
  path: string;
  status: string;
  additions: number | null;
  deletions: number | null;
}

export interface Commit {
  id: string;
  time: number;
  author: string;
  subject: string;
  files: string[];
}

/** `synthetic.construct.diff`: the branch's commits and files, and the uncommitted ones apart. */
export interface DiffResult {
  construct: string;
  branch: string;
  head: string;
  target: string | null;
  target_tip: string;
  merge_base: string;
  worktree: string | null;
  commits: Commit[];
  files: FileChange[];
  uncommitted: FileChange[];
}

/** `synthetic.construct.file`: one file at the merge base or the branch tip, from git. */
export interface FileVersion {
  construct: string;
  path: string;
  at: "base" | "head";
  commit: string;
  exists: boolean;
  size: number;
  binary: boolean;
  too_large: boolean;
  text: string | null;
}

/** `synthetic.construct.landPlan`: what landing would do, every check passed. */
export interface LandPlan {
  construct: string;
  branch: string;
  strategy: string;
  target: string;
  checkout: string;
  commits: Commit[];
  message: string | null;
}

/** `synthetic.construct.land`. */
export interface LandResult {
  construct: Construct;
  strategy: string;
  target: string;
  checkout: string;
  before: string;
  after: string;
  fast_forward: boolean;
  commits: number;
  staged: string[];
  removed: string[] | null;
}

/** `synthetic.construct.discardPreview`: what discarding would delete. */
export interface DiscardPreview {
  construct: string;
  branch: string | null;
  unmerged: Commit[];
  uncommitted: FileChange[];
}
