"""mrf-platform: the Dagster code location for TiC machine-readable files."""
