"""synthetic_ls.lsp layer (see DESIGN.md)."""
