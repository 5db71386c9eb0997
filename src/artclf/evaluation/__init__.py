"""What ``artclf.evaluate`` (and the registry's compare, the app's examples) build on: which
images to score (``selection``), whether the checkpoint saw them (``overlap``), and scoring
them with the metric objects training uses (``scoring``)."""
