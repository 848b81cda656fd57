"""Synthetic: parallel coding-agent workspaces ("constructs") on one Git repository."""

__version__ = "0.1.0"
