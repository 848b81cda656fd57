"""Synthetic's on-disk state format: records as TOML under ``<git common dir>/synthetic/``.

Importable on its own: depends only on the standard library, pydantic, tomlkit
and filelock (never pygls, pygit2 or httpx). See README.md beside this file.
"""
