"""The marketplace's own tables: none yet.

Projects, items and answers belong to `labeling`; money to `payouts`. Datasets and
purchases will live here.
"""
