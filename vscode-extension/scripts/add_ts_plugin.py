"""Add the TypeScript server plugin to a .vsix as node_modules/synthetic-ts-plugin.

VS Code's TypeScript server loads a plugin named in
``contributes.typescriptServerPlugins`` from the extension's
``node_modules``, but ``vsce package --no-dependencies`` (right for a bundled
extension) leaves ``node_modules`` out. This copies ``ts-plugin/`` in,
rewriting the archive (a zip) in place.
"""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
PLUGIN = HERE / "ts-plugin"
PREFIX = "extension/node_modules/synthetic-ts-plugin/"


def main(vsix: str) -> None:
    path = Path(vsix)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename.startswith(PREFIX):
                continue
            data = src.read(item)
            if item.filename == "[Content_Types].xml":
                text = data.decode()
                for ext, mime in ((".ts", "video/mp2t"), (".js", "application/javascript"), (".json", "application/json")):
                    if f'Extension="{ext}"' not in text:
                        text = text.replace("</Types>", f'<Default Extension="{ext}" ContentType="{mime}"/></Types>')
                data = text.encode()
            dst.writestr(item, data)
        for file in sorted(PLUGIN.iterdir()):
            if file.is_file():
                dst.write(file, PREFIX + file.name)
    os.replace(tmp, path)


if __name__ == "__main__":
    main(sys.argv[1])
