"""Fast, vectorised readers for in-network price-transparency files."""
