"""procurement's pure rules: no I/O, no clock, no settings."""
