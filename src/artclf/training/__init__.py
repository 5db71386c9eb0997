"""Training: fit a task, one Task record per kind of training, its callbacks, resume from a
checkpoint, config validation, the end of a sweep and Optuna tuning."""
