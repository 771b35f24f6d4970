"""govproj portal service."""
