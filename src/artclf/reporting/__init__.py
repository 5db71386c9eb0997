"""Reports from the MLflow store: the leaderboard, a sweep's summary on its parent run, the HTML
report of a set of runs, the README tables."""
