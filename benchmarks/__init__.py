"""Side-by-side benchmarks of toynet against its peers; `python -m benchmarks` writes results/RESULTS.md."""
