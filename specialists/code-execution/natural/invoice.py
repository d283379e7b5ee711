"""Print the grand total of an invoice file: python invoice.py ITEMS.json [--vat RATE] [--discount PCT]."""

import argparse
import json

parser = argparse.ArgumentParser()
parser.add_argument("items")
parser.add_argument("--vat", type=float, default=0.2, help="VAT rate, e.g. 0.2 for 20%%")
parser.add_argument("--discount", type=float, default=0.0, help="discount in percent on the net amount")
args = parser.parse_args()

with open(args.items, encoding="utf-8") as f:
    items = json.load(f)["items"]
net = sum(i["qty"] * i["unit_price"] for i in items)
net *= 1 - args.discount / 100
total = net * (1 + args.vat)
print(f"net {net:.2f}")
print(f"grand total {total:.2f}")
