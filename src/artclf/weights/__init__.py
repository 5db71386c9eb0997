"""Weights from files: checkpoints read safely and written whole, pretrained backbones, and whether
their download can be reached."""
