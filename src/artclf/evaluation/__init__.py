"""Scoring a classifier: which images (selection, overlap with training), metrics and figures
(confusion matrix, per-class report), attributions and overlays, champion against challenger."""
