"""Count the Collatz steps of the number given on the command line."""

import sys


def steps(n: int) -> int:
    count = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        count += 1
    return count


if len(sys.argv) != 2:
    sys.exit("usage: collatz.py N")
start = int(sys.argv[1])
print(f"collatz({start}) reaches 1 after {steps(start)} steps")
