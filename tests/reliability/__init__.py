"""Reliability under load, crashes and bad input (issue 8).

Durations and counts come from environment variables (see ``_support.py``); every test
records its seeds, counts and figures, which ``conftest.py`` prints in the terminal summary.
"""
