"""Shared helpers: errors, atomic writes, manifests, paths."""
