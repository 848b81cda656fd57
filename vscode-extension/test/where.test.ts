// "New Construct" asks where only when the person has hosts; the message after
// making one on a host names the host.
import assert from "node:assert/strict";
import { test } from "node:test";
import { remoteCreatedMessage, whereItems } from "../src/where";

const host = (name: string) => ({
  name, url: `ssh://${name}/srv/app`, destination: name, port: null, path: "/srv/app", added: "2026-01-01T00:00:00Z",
});

test("no hosts: nothing to ask (the construct is made here, as before)", () => {
  assert.deepEqual(whereItems([]), []);
});

test("hosts: This machine first, then each host in the server's order", () => {
  const items = whereItems([host("gpu"), host("build-box")]);
  assert.deepEqual(items.map((i) => [i.label, i.host]), [["This machine", null], ["gpu", "gpu"], ["build-box", "build-box"]]);
  assert.equal(items[1].detail, "ssh://gpu/srv/app");
});

test("made on a host: the message names the host and the host's branch", () => {
  const made = { id: "fix-it-abc", name: "Fix it", host: "gpu", url: "ssh://gpu/srv/app", remote_id: "fix-it-xyz",
    construct: { id: "fix-it-xyz", branch: "synthetic/fix-it-xyz" } };
  assert.equal(remoteCreatedMessage(made), 'Synthetic: created "Fix it" (fix-it-abc) on host gpu on synthetic/fix-it-xyz.');
  assert.equal(remoteCreatedMessage({ ...made, construct: {} }), 'Synthetic: created "Fix it" (fix-it-abc) on host gpu.');
});
