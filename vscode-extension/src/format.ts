// Pure formatting of constructs for the tree view, the status bar and the
// confirmations. No `vscode` import here: unit-tested under plain node.

import type { Construct, ConstructList, PendingPermission, PromptBundle, ServiceState, TrustItem, UsageTotal } from "./model";

/** Statuses in lifecycle order (state_format/statuses.py). */
export const STATUSES = [
  "spawning",
  "pending",
  "ready",
  "active",
  "awaiting_input",
  "reviewing",
  "completed",
  "parked",
  "archived",
  "error",
  "deleting",
] as const;

/** A codicon id and a theme colour id per status. */
export const STATUS_ICONS: Record<string, { icon: string; color?: string }> = {
  spawning: { icon: "loading~spin" },
  pending: { icon: "circle-large-outline" },
  ready: { icon: "pass", color: "testing.iconPassed" },
  active: { icon: "sync~spin", color: "charts.blue" },
  awaiting_input: { icon: "bell-dot", color: "charts.yellow" },
  reviewing: { icon: "eye", color: "charts.purple" },
  completed: { icon: "check-all", color: "testing.iconPassed" },
  parked: { icon: "debug-pause" },
  archived: { icon: "archive" },
  error: { icon: "error", color: "errorForeground" },
  deleting: { icon: "trash" },
  // A construct on another machine, as the server lists it when its host does not
  // answer, or no longer has it (not lifecycle statuses: the listing's own).
  unreachable: { icon: "debug-disconnect", color: "errorForeground" },
  missing: { icon: "circle-slash", color: "errorForeground" },
};

export function statusIcon(status: string): { icon: string; color?: string } {
  return STATUS_ICONS[status] ?? { icon: "question" };
}

/** "awaiting_input" -> "awaiting input". */
export function statusLabel(status: string): string {
  return status.replace(/_/g, " ");
}

/** `↑2 ↓1`, or "" when in step with the base. */
export function aheadBehind(ahead?: number | null, behind?: number | null): string {
  const parts: string[] = [];
  if (ahead) parts.push(`↑${ahead}`);
  if (behind) parts.push(`↓${behind}`);
  return parts.join(" ");
}

/** What the worktree is like, in a few words: clean, dirty (N changes), missing, none. */
export function worktreeSummary(c: Construct): string {
  const wt = c.worktree;
  if (!c.workspace_path) return "no worktree";
  if (!wt) return "";
  if (!wt.exists) return "worktree missing";
  if (wt.dirty) {
    const n = wt.changes?.length ?? 0;
    return n ? `dirty (${n} ${n === 1 ? "change" : "changes"})` : "dirty";
  }
  return "clean";
}

/** The agent's state in words, or "" without an agent. */
export function agentSummary(c: Construct): string {
  const a = c.agent;
  if (!a) return c.opencode_session_id ? "agent" : "";
  const pending = a.pending_permissions?.length ?? 0;
  if (pending) return `agent waits for ${pending} ${pending === 1 ? "permission" : "permissions"}`;
  const words: Record<string, string> = {
    busy: "agent working",
    idle: "agent idle",
    awaiting_input: "agent awaiting input",
    error: "agent error",
    unknown: "agent unreachable",
  };
  return words[a.state] ?? `agent ${a.state}`;
}

/**
 * What the agent asks, as it asks it: the tool and its command or patterns
 * (`bash: echo x > x.txt`), so that nothing is approved blind. The id is not
 * in it: it names the request, not what it does.
 */
export function permissionText(p: Pick<PendingPermission, "permission" | "patterns">): string {
  const patterns = (p.patterns ?? []).filter(Boolean).join(" ");
  return patterns ? `${p.permission}: ${patterns}` : p.permission;
}

/** What an agent asks in a question request: its questions' texts. */
export function questionText(q: { questions: string[] }): string {
  return q.questions.join(" / ") || "a question";
}

/** `456`, `12.3k`, `4.5M`: a token count short enough for a row (as the CLI's `ls`). */
export function tokensText(count: number): string {
  if (count < 1000) return String(count);
  if (count < 1_000_000) return `${(count / 1000).toFixed(1)}k`;
  return `${(count / 1_000_000).toFixed(1)}M`;
}

/** `$0.0123` below a dollar, `$1.23` above (as the CLI's `ls`). */
export function costText(cost: number): string {
  return cost >= 1 ? `$${cost.toFixed(2)}` : `$${cost.toFixed(4)}`;
}

/** What an agent (or all of them) cost: `1.6k/6 tokens $0.0016`, or "" when not told. */
export function usageSummary(u: UsageTotal | null | undefined): string {
  // Nothing spent yet (no answer): nothing to say.
  if (!u || !(u.input || u.output || u.reasoning || u.cost)) return "";
  return `${tokensText(u.input)}/${tokensText(u.output)} tokens ${costText(u.cost)}`;
}

/** The sum of several usages (the repositories' totals), or null when none was told. */
export function usageTotal(usages: (UsageTotal | null | undefined)[]): UsageTotal | null {
  const told = usages.filter((u): u is UsageTotal => Boolean(u));
  if (!told.length) return null;
  const keys = ["input", "output", "reasoning", "cache_read", "cache_write", "cost"] as const;
  const out = { input: 0, output: 0, reasoning: 0, cache_read: 0, cache_write: 0, cost: 0 };
  for (const u of told) for (const k of keys) out[k] += u[k];
  return out;
}

/** Every figure of the usage, for a tooltip: `tokens: 1588 in, 6 out · cost: $0.0016`. */
export function usageDetail(u: UsageTotal | null | undefined): string {
  if (!u || !usageSummary(u)) return "";
  const extra = [
    u.reasoning ? `${u.reasoning} reasoning` : "",
    u.cache_read || u.cache_write ? `cache ${u.cache_read} read, ${u.cache_write} written` : "",
  ].filter(Boolean);
  return `tokens: ${u.input} in, ${u.output} out${extra.length ? ` (${extra.join(", ")})` : ""} · cost: ${costText(u.cost)}`;
}

/** The agent row's tooltip: its state in words, what it cost, then the ids a person may need to quote. */
export function agentTooltip(c: Construct): string {
  const lines = [agentSummary(c), usageDetail(c.agent?.usage)];
  if (c.opencode_session_id) lines.push(`OpenCode session ${c.opencode_session_id}`);
  return lines.filter(Boolean).join("\n");
}

/** The tree item's description: `branch ↑1 ↓2 · dirty (3 changes) · agent idle · 1.6k/6 tokens $0.0016`. */
export function constructDescription(c: Construct): string {
  const branch = c.worktree?.branch ?? c.branch ?? "";
  const ab = aheadBehind(c.worktree?.ahead, c.worktree?.behind);
  const first = [branch, ab].filter(Boolean).join(" ");
  const wt = worktreeSummary(c);
  const agent = agentSummary(c);
  return [first, wt === "clean" ? "" : wt, agent, usageSummary(c.agent?.usage)].filter(Boolean).join(" · ");
}

/** A markdown tooltip, every field on its own line. */
export function constructTooltip(c: Construct): string {
  const lines = [`**${escapeMarkdown(c.name)}** \`${c.id}\``, "", `status: ${statusLabel(c.status)}`];
  // A construct on another machine: where it lives, and its id there (to quote on that host).
  if (c.host) lines.push(`host: ${escapeMarkdown(c.host)}`, `remote id: \`${c.remote_id ?? "not yet known"}\``);
  if (c.template_id) lines.push(`template: ${c.template_id}`);
  const branch = c.worktree?.branch ?? c.branch;
  if (branch) {
    const ab = aheadBehind(c.worktree?.ahead, c.worktree?.behind);
    lines.push(`branch: ${branch}${ab ? ` (${ab})` : ""}`);
  }
  if (c.workspace_path) lines.push(`worktree: ${c.workspace_path}${c.host ? ` on ${c.host}` : ""} (${worktreeSummary(c)})`);
  // Where its agent and services run: a sandbox (the server says which).
  if (c.isolation) lines.push(`isolated: ${c.isolation}`);
  const agent = agentSummary(c);
  if (agent) lines.push(agent);
  const usage = usageDetail(c.agent?.usage);
  if (usage) lines.push(usage);
  if (c.error) lines.push(`error: ${escapeMarkdown(c.error)}`);
  if (c.description) lines.push("", escapeMarkdown(c.description));
  return lines.join("  \n");
}

function escapeMarkdown(text: string): string {
  return text.replace(/([\\`*_{}[\]()#+\-.!|<>])/g, "\\$1");
}

/** `contextValue` for menus: `construct` plus flags the `when` clauses test with regex. */
export function constructContext(c: Construct): string {
  const flags = ["construct"];
  if (c.host) {
    // On another machine: its worktree and session are there (no folder to open here);
    // show, land, discard and remove go through the server, which asks the host.
    flags.push("remote");
    if (c.branch) flags.push("branch");
    return flags.join(" ");
  }
  if (c.workspace_path && c.worktree?.exists !== false) flags.push("worktree");
  if (c.opencode_session_id) flags.push("session");
  if ((c.agent?.pending_permissions?.length ?? 0) > 0) flags.push("permission");
  if (c.agent?.state === "busy" || c.status === "active") flags.push("busy");
  if (c.branch) flags.push("branch"); // something to review, land or discard
  return flags.join(" ");
}

/** A construct's services as rows: the name; its state, its ports' URLs and its error. */
export function serviceRows(services: ServiceState[]): { label: string; description: string; state: string; name: string }[] {
  return services.map((v) => {
    const bits = [v.state, ...v.ports.map((p) => p.url)];
    if (v.error) bits.push(v.error);
    // `name` is what `synthetic.services.*` take as `service`.
    return { label: v.name, description: bits.join(" "), state: v.state, name: v.name };
  });
}

/** One group of the tree when some construct lives on another machine. */
export interface HostGroup {
  /** The host's name; null for this machine. */
  host: string | null;
  label: string;
  /** How the host answered the listing: `ok`, `unreachable` or `failed` (this machine: `ok`). */
  state: string;
  error: string | null;
  constructs: Construct[];
}

/**
 * The constructs by machine: "This machine" first, then one group per host in the
 * order the server listed them; empty when every construct is local (the tree then
 * lists them without groups). A host that did not answer keeps its constructs, which
 * the server marks `unreachable`.
 */
export function hostGroups(list: Pick<ConstructList, "constructs" | "hosts">): HostGroup[] {
  if (!list.constructs.some((c) => c.host)) return [];
  const here: HostGroup = { host: null, label: "This machine", state: "ok", error: null, constructs: [] };
  const hosts = new Map<string, HostGroup>();
  for (const h of list.hosts ?? []) {
    hosts.set(h.host, { host: h.host, label: h.host, state: h.state, error: h.error, constructs: [] });
  }
  for (const c of list.constructs) {
    if (!c.host) {
      here.constructs.push(c);
      continue;
    }
    let group = hosts.get(c.host);
    if (!group) {
      group = { host: c.host, label: c.host, state: "ok", error: null, constructs: [] };
      hosts.set(c.host, group);
    }
    group.constructs.push(c);
  }
  return [here, ...[...hosts.values()].filter((g) => g.constructs.length)];
}

/** A group row's description: its count, or why its host did not answer. */
export function hostGroupDescription(g: HostGroup): string {
  const n = `${g.constructs.length}`;
  if (g.state === "ok") return n;
  return `${n} · ${g.state === "unreachable" ? "unreachable" : "did not answer"}`;
}

/** A group row's tooltip: the host, and the error of a host that did not answer. */
export function hostGroupTooltip(g: HostGroup): string {
  if (g.host === null) return "Constructs on this machine";
  const lines = [`Constructs on host ${g.host}`];
  if (g.state !== "ok") lines.push(`${g.state}: ${g.error ?? "no answer"}`);
  return lines.join("\n");
}

/** A codicon per service state. */
export function serviceIcon(state: string): string {
  const icons: Record<string, string> = {
    ready: "vm-running",
    starting: "loading~spin",
    stopped: "vm-outline",
    failed: "error",
    needs_resume: "debug-restart",
    elsewhere: "remote",
  };
  return icons[state] ?? "server-process";
}

export interface Counts {
  total: number;
  byStatus: Record<string, number>;
  awaitingInput: number;
}

/** Counts by status, and the constructs whose agent waits for a person. */
export function countConstructs(constructs: Construct[]): Counts {
  const byStatus: Record<string, number> = {};
  let awaitingInput = 0;
  for (const c of constructs) {
    byStatus[c.status] = (byStatus[c.status] ?? 0) + 1;
    if (
      c.status === "awaiting_input" ||
      c.agent?.state === "awaiting_input" ||
      (c.agent?.pending_permissions?.length ?? 0) > 0
    ) {
      awaitingInput += 1;
    }
  }
  return { total: constructs.length, byStatus, awaitingInput };
}

/** Status bar text: `$(layers) 3 · 1 active · $(bell-dot) 1`. */
export function statusBarText(counts: Counts): string {
  if (counts.total === 0) return "$(layers) no constructs";
  const shown = ["active", "error", "spawning"]
    .filter((s) => counts.byStatus[s])
    .map((s) => `${counts.byStatus[s]} ${statusLabel(s)}`);
  const parts = [`$(layers) ${counts.total}`, ...shown];
  if (counts.awaitingInput) parts.push(`$(bell-dot) ${counts.awaitingInput}`);
  return parts.join(" · ");
}

/** Status bar tooltip: one line per status, in lifecycle order. */
export function statusBarTooltip(counts: Counts): string {
  const order = [...STATUSES, ...Object.keys(counts.byStatus).filter((s) => !(STATUSES as readonly string[]).includes(s))];
  const lines = order.filter((s) => counts.byStatus[s]).map((s) => `${statusLabel(s)}: ${counts.byStatus[s]}`);
  if (counts.awaitingInput) lines.push(`agents awaiting input: ${counts.awaitingInput}`);
  return [`Synthetic constructs: ${counts.total}`, ...lines].join("\n");
}

/** A construct for a quick pick. */
export function constructPickItem(c: Construct): { label: string; description: string; detail: string } {
  return {
    label: `$(${statusIcon(c.status).icon.replace("~spin", "")}) ${c.name}`,
    description: `${statusLabel(c.status)} · ${c.id}`,
    detail: constructDescription(c),
  };
}

/** The message of a failed server command: `data.message` of a JSON-RPC error, else its own. */
export function errorMessage(err: unknown): string {
  if (err && typeof err === "object") {
    const e = err as { data?: unknown; message?: unknown };
    if (e.data && typeof e.data === "object") {
      const m = (e.data as { message?: unknown }).message;
      if (typeof m === "string" && m) return m;
    }
    if (typeof e.message === "string" && e.message) return e.message;
  }
  return String(err);
}

/** The core's error code (`data.code`) of a failed command, if any. */
export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === "object") {
    const data = (err as { data?: unknown }).data;
    if (data && typeof data === "object") {
      const code = (data as { code?: unknown }).code;
      if (typeof code === "string") return code;
    }
  }
  return undefined;
}

/** A list field of a failed command's core error (`data.files` ...), as strings. */
export function errorList(err: unknown, key: string): string[] {
  const data = err && typeof err === "object" ? (err as { data?: unknown }).data : undefined;
  const value = data && typeof data === "object" ? (data as Record<string, unknown>)[key] : undefined;
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** A prompt bundle as a markdown document: where each fragment came from, then the text. */
export function promptBundleText(bundle: PromptBundle, title: string): string {
  const lines = [`<!-- ${title} -->`];
  for (const f of bundle.fragments) {
    const order = f.order === null || f.order === undefined ? "" : ` (order ${f.order})`;
    lines.push(`<!-- ${f.path}${order}: ~${f.tokens} tokens, from ${f.origin} -->`);
  }
  for (const path of bundle.dropped) lines.push(`<!-- ${path}: dropped (empty or a repeat) -->`);
  lines.push(`<!-- total: ~${bundle.token_count} tokens (${bundle.token_method}) -->`, "", bundle.content);
  return lines.join("\n");
}

/** One thing the repository would run, as a `consent-required` error lists it. */
export type ConsentItem = Omit<TrustItem, "allowed">;

const CONSENT_KINDS: Record<string, string> = {
  setup: "Setup command",
  service: "Service",
  teardown: "Teardown command",
  check: "Check",
  "opencode-code": "OpenCode code",
  "opencode-config": "OpenCode config",
};

/** The items of a `consent-required` error (the server refused: nothing ran); else none. */
export function consentItems(err: unknown): ConsentItem[] {
  if (errorCode(err) !== "consent-required") return [];
  const data = (err as { data?: { items?: unknown } }).data;
  const items = Array.isArray(data?.items) ? data.items : [];
  return items.filter(
    (i): i is ConsentItem =>
      Boolean(i) && typeof i === "object" && ["kind", "where", "text", "digest"].every((k) => typeof (i as Record<string, unknown>)[k] === "string"),
  );
}

/** What the person is asked about, one line per item: its kind, where it is declared, what it runs. */
export function consentDetail(items: ConsentItem[]): string {
  return items.map((i) => `${CONSENT_KINDS[i.kind] ?? i.kind} (${i.where}): ${i.text}`).join("\n");
}
