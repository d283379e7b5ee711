"""Print the mean and the largest of the numbers given on the command line."""

import sys

if len(sys.argv) < 2:
    sys.exit("usage: stats.py N [N ...]")
values = [float(v) for v in sys.argv[1:]]
print(f"mean={sum(values) / len(values):.1f} max={max(values):g}")
