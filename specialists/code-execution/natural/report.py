import csv

totals = {}
with open("products.csv", newline="") as f:
    for row in csv.DictReader(f):
        totals[row["category"]] = totals.get(row["category"], 0) + float(row["price"]) * int(row["stock"])

for category, value in sorted(totals.items()):
    print(f"{category}: {value:.2f}")
