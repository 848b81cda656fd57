"""JSON Schemas of the operations' results: the one JSON form every face reads.

Each result's ``to_dict()`` is annotated with a ``TypedDict`` that sits next to
its class (``RemovalPreviewJson`` beside ``RemovalPreview`` ...), so mypy
checks the shape against the code that builds it. This package turns those
``TypedDict`` s into JSON Schemas with pydantic (:data:`RESULTS` names them
and the commands that return them); ``python -m synthetic_ls.schemas`` writes
them to ``synthetic_ls/schemas/results/``, and a test fails while the
committed files are stale. The VS Code extension generates its TypeScript
types from these files (``npm run gen:types`` in ``vscode-extension``), and
a test there fails while its ``src/generated/results.ts`` is stale: a face
never copies a shape by hand.
"""

from synthetic_ls.schemas.results import RESULTS, SCHEMA_DIR, Result, generate, schema_of

__all__ = ["RESULTS", "SCHEMA_DIR", "Result", "generate", "schema_of"]
