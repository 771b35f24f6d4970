"""review's domain: review cases. Pure: no I/O."""
