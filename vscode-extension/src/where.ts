// Where "New Construct" makes the construct: this machine, or one of the person's
// hosts (`synthetic.host.list`). Pure, so the choice and the messages are tested
// without a workbench; commands.ts asks and calls the server.
import type { Host, RemoteCreated } from "./model";

/** One row of the "where" quick pick: `host` null is this machine. */
export interface WhereItem {
  label: string;
  description?: string;
  detail?: string;
  host: string | null;
}

/**
 * The rows of the "where" quick pick: "This machine" first, then each host
 * in the server's order; none when the person has no hosts (nothing is asked then).
 */
export function whereItems(hosts: readonly Host[]): WhereItem[] {
  if (!hosts.length) return [];
  return [
    { label: "This machine", description: "a worktree here", host: null },
    ...hosts.map((h) => ({ label: h.name, description: "host", detail: h.url, host: h.name })),
  ];
}

/** What the person is told once a construct is made on a host. */
export function remoteCreatedMessage(made: RemoteCreated): string {
  const branch = typeof made.construct.branch === "string" ? ` on ${made.construct.branch}` : "";
  return `Synthetic: created "${made.name}" (${made.id}) on host ${made.host}${branch}.`;
}
