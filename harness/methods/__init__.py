"""Methods: the registry of every method, their specs, classical and learned adapters, checkpoints, high-res mapping."""
