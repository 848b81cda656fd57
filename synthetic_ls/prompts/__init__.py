"""Prompt bundles: the text a construct's agent gets before its first prompt.

:mod:`.sources` finds the fragments (``promptSources`` and the template's
``prompts``), :mod:`.variables` fills in ``${...}``, :mod:`.bundle` puts them
together with the construct's own context and counts the tokens. Reading
runs nothing and never leaves the repository: a fragment is a regular file
inside it, of bounded size.
"""
