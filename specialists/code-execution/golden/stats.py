import csv

with open("scores.csv", newline="") as f:
    rows = list(csv.DictReader(f))
best = max(rows, key=lambda r: int(r["score"]))
print(f"best={best['name']} mean={sum(int(r['score']) for r in rows) / len(rows):.2f}")
