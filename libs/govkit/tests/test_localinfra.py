"""The local servers: their process ids (the benchmark counts the CPU each one takes) and the
ports they are given."""

import socket

import psutil
import pytest

from govkit.localinfra import ephemeral_port_floor, free_port


@pytest.mark.integration
def test_the_running_servers_give_their_process_ids(pg, nats_server) -> None:  # type: ignore[no-untyped-def]
    postmaster = psutil.Process(pg.server.pid)
    assert "postgres" in postmaster.name()
    assert postmaster.children(), "a running server has its background workers"
    assert "nats" in psutil.Process(nats_server.pid).name()


def test_free_ports_are_below_the_ephemeral_range_and_never_handed_out_twice() -> None:
    """Clients' outgoing connections take their local ports from the ephemeral range; a server's
    port picked there could be taken before the server binds it."""
    low = ephemeral_port_floor()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert all(1024 <= p < low for p in ports)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", ports[0]))  # free indeed
