"""Alembic environment of the acceptance schema (run by govkit.migrations at service start)."""

from alembic import context

from govkit.migrations import run_env

run_env(context.config)
