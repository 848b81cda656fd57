// Which synthetic-ls versions this extension speaks to. Pure: unit-tested.

/** The server versions accepted: at least MIN, below the next major. */
export const MIN_SERVER_VERSION = "0.1.0";

export type Version = [number, number, number];

/** `synthetic-ls 0.1.0` (the `--version` output) or `0.1.0` -> [0, 1, 0]; undefined if none. */
export function parseVersion(text: string): Version | undefined {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return 0;
}

export interface VersionCheck {
  ok: boolean;
  version?: string;
  problem?: string;
}

/**
 * Does this `--version` output name a server we can use? Below 1.0 a minor
 * version may break the protocol, so 0.x must match MIN's minor version.
 */
export function checkServerVersion(output: string, min: string = MIN_SERVER_VERSION): VersionCheck {
  const v = parseVersion(output);
  const lo = parseVersion(min) as Version;
  if (!v) return { ok: false, problem: `could not read a version from ${JSON.stringify(output.trim())}` };
  const version = v.join(".");
  if (compareVersions(v, lo) < 0) {
    return { ok: false, version, problem: `synthetic-ls ${version} is too old: this extension needs ${min} or newer` };
  }
  const sameSeries = lo[0] === 0 ? v[0] === 0 && v[1] === lo[1] : v[0] === lo[0];
  if (!sameSeries) {
    return {
      ok: false,
      version,
      problem: `synthetic-ls ${version} is newer than this extension supports (${lo[0] === 0 ? `0.${lo[1]}.x` : `${lo[0]}.x`}): update the extension`,
    };
  }
  return { ok: true, version };
}

/** What to run so that `python` has the server. */
export function installAdvice(python: string): string {
  const q = /\s/.test(python) ? `"${python}"` : python;
  return `${q} -m pip install -e /path/to/synthetic (a checkout of Synthetic), or run "bash scripts/setup.sh" in that checkout and set "synthetic.interpreter" to ["/path/to/synthetic/.venv/bin/python"]`;
}
