"""govproj procurement service."""
