"""The quality engine's numeric core: answer aggregation and per-answer scores."""
