"""procurement's adapters."""
