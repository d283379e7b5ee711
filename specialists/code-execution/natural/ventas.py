import csv

total = 0.0
with open("ventas.csv", newline="", encoding="utf-8") as f:
    for fila in csv.DictReader(f):
        total += int(fila["unidades"]) * float(fila["precio"])
print(f"Total de ventas: {total:.2f} EUR")
