"""procurement's entrypoints: REST, gRPC and event consumers (thin adapters to the use cases)."""
