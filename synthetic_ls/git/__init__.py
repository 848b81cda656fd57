"""synthetic_ls.git layer (see DESIGN.md)."""
