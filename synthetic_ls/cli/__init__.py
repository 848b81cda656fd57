"""The ``synthetic`` command: one module per command, each a thin face over ``ops``."""
