"""Training: configs, the generic loop, task objects per stage, checkpoints."""
