"""Trained networks as MLflow Models (pyfunc classifiers, AdaIN and CycleGAN stylisers) logged at
the end of a run, and their registration."""
