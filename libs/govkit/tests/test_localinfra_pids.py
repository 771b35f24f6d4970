"""The local servers name their processes, so the benchmark can count the CPU each one takes."""

import psutil
import pytest

pytestmark = pytest.mark.integration


def test_the_running_servers_give_their_process_ids(pg, nats_server) -> None:  # type: ignore[no-untyped-def]
    postmaster = psutil.Process(pg.server.pid)
    assert "postgres" in postmaster.name()
    assert postmaster.children(), "a running server has its background workers"
    assert "nats" in psutil.Process(nats_server.pid).name()
