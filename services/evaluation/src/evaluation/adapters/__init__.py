"""evaluation's adapters."""
