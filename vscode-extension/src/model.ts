// The JSON the server's commands return. Nothing here is written by hand:
// the types are generated (src/generated/results.ts, `npm run gen:types`)
// from the JSON Schemas that `python -m synthetic_ls.schemas` makes of the
// operations' own result types, and tests fail while either is stale. This
// module only gives a few of them the names the extension uses.

import type {
  Agent,
  CommandResults,
  ConstructView,
  Diff,
  Permission,
  PromptBuild,
  PromptPreview,
  Service,
  Services,
  Template,
  Templates,
  Usage,
  Worktree,
} from "./generated/results";

export type {
  BranchFate,
  BrokenRecord,
  CommandResults,
  Commit,
  ConstructList,
  DiscardPreview,
  DoctorReport,
  FileChange,
  FileVersion,
  Finding,
  Host,
  Kept,
  LandPlan,
  LandResult,
  RemoteCreated,
  RemoteLandResult,
  RemoteRemoved,
  RemovalPreview,
  RemoveResult,
  ServicePort,
  TrustItem,
  WorkAtRisk,
} from "./generated/results";

/** A construct as listed and shown: its record, worktree and agent. */
export type Construct = ConstructView;
export type WorktreeState = Worktree;
export type AgentState = Agent;
/** Tokens and cost of one agent's session, or of all the listed ones (`ConstructList.usage`). */
export type UsageTotal = Usage;
/** A service as seen now (`state`), with its ports. */
export type ServiceState = Service;
export type ServicesStatus = Services;
export type TemplateInfo = Template;
export type TemplateList = Templates;
export type PendingPermission = Permission;
export type DiffResult = Diff;
/** A prompt bundle: a construct's (`synthetic.prompts.build`) or a template's (`.preview`). */
export type PromptBundle = PromptBuild | PromptPreview;

/** A server command that has a typed result. */
export type CommandName = keyof CommandResults;
