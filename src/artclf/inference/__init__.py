"""Running a trained classifier: load it from any source, read images the way training fed them,
score them (with TTA or a seed ensemble)."""
