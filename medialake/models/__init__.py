"""Ray-free model wrappers, one per role, and the registry that resolves model names."""
