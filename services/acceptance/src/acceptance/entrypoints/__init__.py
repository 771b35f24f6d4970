"""acceptance's entrypoints: REST, gRPC, event consumers (thin adapters to the use cases)."""
