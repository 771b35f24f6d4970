"""DDL helpers refuse anything but plain identifiers and always FORCE row-level security."""

import pytest

from govkit.db import ServiceDatabase, ident, tenant_rls_sql


@pytest.mark.parametrize("bad", ["intake; drop table x", "Intake", "1abc", "a-b", "", "x" * 64])
def test_ident_rejects_unsafe_names(bad: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        ident(bad)


def test_tenant_tables_are_forced_under_rls_failing_closed() -> None:
    sql = " ".join(tenant_rls_sql(schema="intake", table="declarations", app_role="intake_app"))
    assert "FORCE ROW LEVEL SECURITY" in sql
    assert "current_setting('app.tenant_id', true)" in sql
    assert "WITH CHECK" in sql


def test_service_database_names() -> None:
    names = ServiceDatabase("review")
    assert (names.database, names.schema, names.owner_role, names.app_role) == (
        "govproj_review",
        "review",
        "review_owner",
        "review_app",
    )
