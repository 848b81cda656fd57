"""synthetic_ls.opencode layer (see DESIGN.md)."""
