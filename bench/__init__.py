"""wirewatch benchmarks: each measures a baseline in the same run and prints medians and ratios."""
