"""intake's adapters: tables, repository."""
