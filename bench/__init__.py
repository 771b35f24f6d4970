"""`make bench`: load and latency of the platform beside raw baselines, results in bench/results/."""
