"""evaluation's pure rules: no I/O, no clock, no settings (everything comes in as arguments)."""
