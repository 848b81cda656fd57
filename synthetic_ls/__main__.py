"""Allow ``python -m synthetic_ls``."""

from synthetic_ls.cli.main import main

main()
