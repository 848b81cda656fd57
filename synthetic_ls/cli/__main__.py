"""``python -m synthetic_ls.cli``: the ``synthetic`` command without its script on PATH."""

from synthetic_ls.cli.main import main

main()
