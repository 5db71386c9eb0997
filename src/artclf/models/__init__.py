"""Classifier networks: backbones, heads, the classification LightningModule, its metrics,
optimisers and mixup."""
