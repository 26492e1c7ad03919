"""The demo province built from the seeds' figures, and synthetic provinces for benchmarks."""
