"""intake's domain: declarations and their state machine. Pure: no I/O, no framework."""
