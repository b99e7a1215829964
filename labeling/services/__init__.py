"""Every write of the labeling app."""
