"""govproj review service."""
