"""Training on Ray Train: the driver, the worker loop, recipes, training state, the self-supervised generator."""
