"""TypeScript's own checker flags typos in synthetic.config.ts (issue 21).

VS Code runs TypeScript's server on the config with the declarations the
extension ships (vscode-extension/ts-plugin/synthetic-config.d.ts). These
tests run the real `tsc` on configs written the way people write them, so a
signature that switches off the excess-property check (a generic
`defineSyntheticConfig<T extends SyntheticConfig>(c: T)`) shows here as an
unknown key that nobody is told about.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "vscode-extension"
TSC = EXTENSION / "node_modules/.bin/tsc"
DECLARATIONS = EXTENSION / "ts-plugin/synthetic-config.d.ts"

pytestmark = pytest.mark.skipif(
    not TSC.exists() or shutil.which("node") is None,
    reason="the extension's TypeScript is not installed (npm ci in vscode-extension)",
)

# TypeScript reports the first unknown key of a property it rejects, so each
# typo gets a config of its own.
TEMPLATE_TYPO = """\
import { defineSyntheticConfig } from "@synthetic/config";

export default defineSyntheticConfig({
  templates: {
    "web-api": {
      typ: "implementation",
      services: { api: { type: "process", run: "npm start" } },
    },
  },
});
"""

SERVICE_TYPO = """\
import { defineSyntheticConfig } from "@synthetic/config";

export default defineSyntheticConfig({
  templates: {
    "web-api": {
      type: "implementation",
      services: { api: { type: "process", run: "npm start", nv: { PORT: "3000" } } },
    },
  },
});
"""

ARRAY_TYPO = """\
import { defineSyntheticConfig } from "@synthetic/config";

export default defineSyntheticConfig({
  templates: [{ id: "docs", type: "planning", setpu: ["npm ci"] }],
});
"""

CORRECT = """\
import { defineSyntheticConfig } from "@synthetic/config";

export default defineSyntheticConfig({
  defaults: { templateId: "web-api" },
  opencode: { defaultProvider: "opencode", token: process.env.OPENCODE_TOKEN },
  templates: {
    "web-api": {
      type: "implementation",
      services: {
        api: {
          type: "process", run: "npm start", env: { PORT: "3000" },
          ports: [{ name: "http", preferred: 3000 }],
        },
        db: { type: "docker", image: "postgres:16", ports: ["5432"] },
      },
      setup: ["npm ci"],
    },
  },
});
"""


def tsc(tmp_path: Path, config: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "synthetic.config.ts").write_text(config)
    shutil.copy(DECLARATIONS, tmp_path / "synthetic-config.d.ts")
    # No @types/node: the declarations bring their own `process.env`.
    (tmp_path / "tsconfig.json").write_text(
        '{"compilerOptions": {"strict": true, "noEmit": true, "target": "ES2022",'
        ' "module": "commonjs", "lib": ["ES2022"], "types": []},'
        ' "files": ["synthetic.config.ts", "synthetic-config.d.ts"]}'
    )
    return subprocess.run(
        [str(TSC), "-p", "tsconfig.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(("config", "key"), [(TEMPLATE_TYPO, "typ"), (SERVICE_TYPO, "nv")])
def test_unknown_keys_in_the_record_form_are_errors_that_name_them(
    tmp_path: Path, config: str, key: str,
) -> None:
    run = tsc(tmp_path, config)
    assert run.returncode != 0, run.stdout
    assert f"'{key}' does not exist" in run.stdout, run.stdout


def test_an_unknown_key_in_the_array_form_is_an_error_that_names_it(tmp_path: Path) -> None:
    run = tsc(tmp_path, ARRAY_TYPO)
    assert run.returncode != 0, run.stdout
    assert "'setpu' does not exist" in run.stdout, run.stdout


def test_a_correct_config_passes(tmp_path: Path) -> None:
    run = tsc(tmp_path, CORRECT)
    assert run.returncode == 0, run.stdout + run.stderr
