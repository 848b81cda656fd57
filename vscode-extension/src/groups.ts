// Groups of attempts (`synthetic new --attempts N`) as the tree shows them,
// and the report of a construct's checks. Pure: what the server listed,
// arranged for the person; nothing here decides.

import { usageSummary, usageTotal, usageDetail } from "./format";
import type { CommandResults, Construct, UsageTotal } from "./model";

/** A group as `synthetic.group.list` tells it. */
export type GroupInfo = CommandResults["synthetic.group.list"]["groups"][number];
/** `synthetic.construct.check`'s result. */
export type ChecksResult = CommandResults["synthetic.construct.check"];

/** A group's node: the group, its listed members, and what their agents cost together
 * (`usage`: the group's, as `synthetic.group.list` tells it). */
export interface AttemptGroup {
  group: GroupInfo;
  members: Construct[];
  usage: UsageTotal | null;
}

/**
 * The constructs with each group's members gathered under their group, the
 * group where its first member was listed. A member whose group the server
 * did not list (the group file unreadable) stays a plain construct.
 */
export function byGroup(constructs: Construct[], groups: GroupInfo[]): (Construct | AttemptGroup)[] {
  const known = new Map(groups.map((g) => [g.id, g]));
  const out: (Construct | AttemptGroup)[] = [];
  const made = new Map<string, AttemptGroup>();
  for (const c of constructs) {
    const group = c.group_id ? known.get(c.group_id) : undefined;
    if (!group) {
      out.push(c);
      continue;
    }
    let node = made.get(group.id);
    if (!node) {
      node = { group, members: [], usage: null };
      made.set(group.id, node);
      out.push(node);
    }
    node.members.push(c);
  }
  // The group's total as the server tells it; a server without one: its listed members' sum.
  for (const node of made.values()) {
    node.usage = node.group.usage !== undefined ? node.group.usage : usageTotal(node.members.map((m) => m.agent?.usage));
  }
  return out;
}

/** Whether an entry of {@link byGroup} is a group. */
export function isAttemptGroup(x: Construct | AttemptGroup): x is AttemptGroup {
  return "group" in x && "members" in x;
}

/** `3 attempts · 1.6k/12 tokens $0.0031`. */
export function groupDescription(g: AttemptGroup): string {
  const n = g.members.length;
  return [`${n} ${n === 1 ? "attempt" : "attempts"}`, usageSummary(g.usage)].filter(Boolean).join(" · ");
}

/** The group's task, models and total cost, for a tooltip. */
export function groupTooltip(g: AttemptGroup): string {
  return [
    `Group ${g.group.name} (${g.group.id})`,
    `task: ${g.group.prompt}`,
    g.group.models.length ? `models: ${g.group.models.join(", ")}` : "",
    g.usage && usageSummary(g.usage) ? `all attempts: ${usageDetail(g.usage)}` : "",
  ].filter(Boolean).join("\n");
}

/** The notification and the output channel's lines for a run of checks. */
export function checksReport(name: string, r: ChecksResult): { message: string; lines: string[] } {
  const failed = r.checks.filter((c) => !c.passed);
  const each = r.checks.map((c) => `${c.name} ${c.passed ? "passed" : c.timed_out ? "timed out" : "failed"}`);
  const message = r.passed
    ? `Synthetic: ${name}: every check passed (${each.join(", ")}).`
    : `Synthetic: ${name}: ${failed.length} of ${r.checks.length} check(s) failed (${each.join(", ")}).`;
  const lines: string[] = [];
  for (const c of r.checks) {
    const why = c.timed_out ? "timed out" : c.exit_code !== null ? `exit ${c.exit_code}` : "did not finish";
    lines.push(`${name} · ${c.name}: ${c.passed ? "pass" : `FAIL (${why})`} in ${(c.duration_ms / 1000).toFixed(1)} s — ${c.command}`);
    for (const l of c.output) lines.push(`    ${l}`);
  }
  return { message, lines };
}
