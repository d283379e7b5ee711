"""Regenerate the golden input files (run from this folder with pandas, pyarrow, openpyxl).

Why a script: the binary fixtures (xlsx, parquet, zip) must be reproducible and reviewable.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

SALES = """region,month,product,amount,units
North,2024-01,widget,120,3
North,2024-02,gadget,80,2
North,2024-03,widget,150,5
South,2024-01,gadget,200,4
South,2024-02,widget,95,1
South,2024-03,gadget,310,6
East,2024-01,widget,60,2
East,2024-02,widget,75,3
East,2024-03,gadget,1500,30
West,2024-01,gadget,110,2
West,2024-02,widget,130,4
West,2024-03,widget,90,3
"""


def main() -> None:
    """Write every golden input next to this script."""
    (HERE / "sales.csv").write_text(SALES, encoding="utf-8")
    df = pd.read_csv(io.StringIO(SALES))
    df.to_parquet(HERE / "sales.parquet", index=False)
    df.to_csv(HERE / "sales.tsv", sep="\t", index=False)
    df.to_json(HERE / "sales.jsonl", orient="records", lines=True)
    with pd.ExcelWriter(HERE / "book.xlsx", engine="openpyxl") as xl:
        df[df["month"] == "2024-01"].to_excel(xl, sheet_name="Q1", index=False)
        df[df["month"] != "2024-01"].to_excel(xl, sheet_name="Later", index=False)
    customers = "id;name;city\n1;Zoë;Zürich\n2;José;São Paulo\n3;Ann;Oslo\n"
    (HERE / "customers_bom.csv").write_bytes(b"\xef\xbb\xbf" + customers.encode("utf-8"))
    orders = "order,id,total\nA1,1,10.5\nA2,1,4.5\nA3,2,7\nA4,4,99\n"
    (HERE / "orders.csv").write_text(orders, encoding="utf-8")
    (HERE / "cities_latin1.csv").write_bytes("city,temp\nMünchen,12.5\nGenève,14\nMálaga,21.5\n".encode("latin-1"))
    (HERE / "ragged.csv").write_text("a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n", encoding="utf-8")
    (HERE / "binary.csv").write_bytes(b"a,b\n1,2\n\x00\x01\x02\xff\xfe\x00garbage\n")
    (HERE / "truncated.xlsx").write_bytes((HERE / "book.xlsx").read_bytes()[:700])
    with zipfile.ZipFile(HERE / "evil.zip", "w") as zf:
        zf.writestr("../escape.csv", "a,b\n1,2\n")
    with zipfile.ZipFile(HERE / "bundle.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data/sales.csv", SALES)


if __name__ == "__main__":
    main()
