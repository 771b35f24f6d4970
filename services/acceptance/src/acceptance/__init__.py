"""govproj acceptance service."""
