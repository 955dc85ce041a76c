"""Subsetting: which edges to follow (plan) and which rows they reach (extract)."""
