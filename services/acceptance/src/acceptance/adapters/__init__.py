"""acceptance's adapters."""
