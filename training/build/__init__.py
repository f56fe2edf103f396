"""Spec -> torch objects, one module per kind, each with a closed registry."""
