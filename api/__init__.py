"""The HTTP layer: parse, authorise, call core, shape responses."""
