"""``python -m synthetic_ls.schemas [--check]``: write the results' JSON Schemas.

With ``--check`` nothing is written: stale or missing files are listed and
the exit status is 1. Files of results no longer in the registry are removed
(or, with ``--check``, reported).
"""

from __future__ import annotations

import sys

from synthetic_ls.schemas.results import SCHEMA_DIR, generate


def main(argv: list[str] | None = None) -> int:
    """Write (or check) every schema; 0 when the folder matches the code."""
    check = "--check" in (sys.argv[1:] if argv is None else argv)
    wanted = generate()
    stale = []
    for name, text in wanted.items():
        path = SCHEMA_DIR / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(name)
            if not check:
                SCHEMA_DIR.mkdir(exist_ok=True)
                path.write_text(text, encoding="utf-8")
    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        if path.name not in wanted:
            stale.append(path.name)
            if not check:
                path.unlink()
    if check and stale:
        sys.stderr.write(
            "stale result schemas (run `python -m synthetic_ls.schemas`): "
            + ", ".join(stale) + "\n"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
