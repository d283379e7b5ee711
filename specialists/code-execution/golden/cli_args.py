"""Sum a CSV column and scale it by a factor, both given on the command line."""

import argparse
import csv
import sys

parser = argparse.ArgumentParser()
parser.add_argument("csv_file")
parser.add_argument("factor", type=float, nargs="?", default=1.0)
parser.add_argument("--column", default="score")
args = parser.parse_args()
with open(args.csv_file, newline="") as f:
    total = sum(float(row[args.column]) for row in csv.DictReader(f))
print(f"argv={sys.argv[1:]} total={total * args.factor:g}")
