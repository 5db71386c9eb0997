"""Registered classifiers over HTTP: champion/challenger, shadow scores, live swaps, a record."""
