"""synthetic_ls.ops layer (see DESIGN.md)."""
