"""review's adapters."""
