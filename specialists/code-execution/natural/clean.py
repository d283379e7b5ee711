"""Drop rows with a missing or negative amount and write clean.csv."""

import csv

kept, dropped = [], 0
with open("raw_data.csv", newline="") as f:
    reader = csv.DictReader(f)
    for row in reader:
        amount = row["amount"].strip()
        if not amount or float(amount) < 0:
            dropped += 1
            continue
        kept.append(row)
with open("clean.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=reader.fieldnames)
    writer.writeheader()
    writer.writerows(kept)
print(f"kept {len(kept)} rows, dropped {dropped}")
