"""intake's thin adapters to REST, gRPC and events."""
