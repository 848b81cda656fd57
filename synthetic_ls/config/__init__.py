"""synthetic_ls.config layer (see DESIGN.md)."""
