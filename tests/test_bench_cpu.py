"""The benchmark's CPU accounting: milliseconds per operation by process, largest first, with the
total (bench.harness.cpu_per_operation)."""

from bench.harness import cpu_per_operation


def test_cpu_per_operation_is_the_difference_per_operation_largest_first() -> None:
    before = {"intake": 10.0, "postgres": 5.0, "nats": 1.0}
    after = {"intake": 22.0, "postgres": 8.0, "nats": 1.5, "bench client": 2.0}  # a new process
    assert cpu_per_operation(before, after, 1000) == {
        "intake": 12.0,
        "postgres": 3.0,
        "bench client": 2.0,
        "nats": 0.5,
        "total": 17.5,
    }
    assert cpu_per_operation(before, after, 0) == {"total": 0}
