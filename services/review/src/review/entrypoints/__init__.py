"""review's thin adapters."""
