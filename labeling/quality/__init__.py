"""The quality engine: model scores, priors and reliabilities behind accepting answers."""
