"""A config that tries to run code: nothing runs, and each attempt is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic_ls.config import check_config_file, load_config

ATTEMPTS = {
    "require": 'const x = require("child_process").execSync("touch {marker}");\n'
               "export default {{ templates: {{}} }};\n",
    "iife": 'export default {{ templates: (() => {{ require("fs").writeFileSync("{marker}", "");'
            " return {{}}; }})() }};\n",
    "getter": 'export default {{ get templates() {{ require("fs").writeFileSync("{marker}", "");'
              " return {{}}; }} }};\n",
    "statement": 'require("fs").writeFileSync("{marker}", "");\nexport default {{}};\n',
    "dynamic-import": 'const m = await import("data:text/javascript,require(\'fs\')'
                      '.writeFileSync(\'{marker}\',\'\')");\nexport default {{}};\n',
    "template": "export default {{ templates: {{ a: {{ label: `${{require('fs')"
                ".writeFileSync('{marker}', '')}}` }} }} }};\n",
    "spread": 'export default {{ ...require("fs").writeFileSync("{marker}", "") }};\n',
    "top-level-function": 'function f() {{ require("fs").writeFileSync("{marker}", ""); }}\n'
                          "f();\nexport default {{}};\n",
}


@pytest.mark.parametrize("name", sorted(ATTEMPTS))
def test_code_is_never_run(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "marker"
    (tmp_path / ".git").mkdir()
    (tmp_path / "synthetic.config.ts").write_text(ATTEMPTS[name].format(marker=marker))
    result = load_config(tmp_path)
    assert not marker.exists()
    assert result.has_errors
    assert any(d.code in ("non-literal", "unsupported-statement", "template-substitution",
                          "unsupported-spread") for d in result.diagnostics)


def test_call_diagnostic_names_the_callee(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.config.ts"
    path.write_text(ATTEMPTS["require"].format(marker=tmp_path / "m"))
    result = check_config_file(path)
    messages = [d.message for d in result.diagnostics]
    assert any("function call" in m and "execSync" in m for m in messages)
