"""Datasets as users download them: one DataSpec of data settings, a reader per layout, labels,
splits, the prepared image cache, augmentation and the Lightning datamodules."""
