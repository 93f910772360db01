"""Dagster-free core: fetch, ToC parsing, in-network streaming, normalization, quality rules, ids."""
