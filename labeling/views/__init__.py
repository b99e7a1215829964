"""The HTML pages of labeling: contributors find and do work; requesters run projects.

Views are thin: they read through selectors, act through services, and render
templates/labeling/. One module per area, each owned by its pages.
"""
