"""acceptance's domain: pure rules and state machines, no I/O."""
