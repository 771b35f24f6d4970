"""govproj intake service."""
