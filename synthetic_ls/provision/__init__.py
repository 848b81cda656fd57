"""synthetic_ls.provision layer (see DESIGN.md)."""
