import sys

for arg in sys.argv[1:]:
    f = float(arg)
    print(f"{f:g} °F = {(f - 32) * 5 / 9:.1f} °C")
