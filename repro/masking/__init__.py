"""Masking: YAML rules -> strategies -> deterministic, fail-closed masking of row batches."""
