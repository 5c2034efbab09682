"""Planning: what a model needs (memory) and what fits on this machine."""
