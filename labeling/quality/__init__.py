"""The quality engine: answer aggregation, model priors, scores and behaviour signals."""
