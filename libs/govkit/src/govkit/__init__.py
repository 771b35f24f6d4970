"""govkit: the shared kernel of govproj's services."""
