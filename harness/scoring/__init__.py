"""Scoring: per-image metrics (and their plain-library reference), protocols, summary statistics, tables."""
