"""govproj evaluation service."""
