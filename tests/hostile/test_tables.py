"""Hostile tables and archives for the data-analytics and numerical containers.

Mixed encodings, NUL bytes past the first block, 100,000 columns, JSON nested 100,000 deep
(and a wire request nested as deep: the in-container server must answer and keep serving),
zip bombs (one member and many), zip-slip (``..``, absolute, backslash and drive-letter
names), symlink members, and .xlsx workbooks carrying billion-laughs entities, external
entities or a bomb. One engine serves the module; each container is reused across cases.
"""

from __future__ import annotations

import json
import socket
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest

from app.engine.orchestrator import Orchestrator
from tests.hostile.conftest import exec_in, expect_refusal, run_task

pytestmark = [pytest.mark.hostile, pytest.mark.docker]

UTF8_THEN_LATIN1 = "city,amount\nMünchen,10\nZürich,20\n".encode() + "Malmö,30\n".encode("latin-1")


def _csv_with_late_nul() -> bytes:
    rows = "".join(f"r{i},{i}\n" for i in range(2000)).encode()  # well past the first 8 KiB
    return b"name,amount\n" + rows + b"bad\x00row,1\n"


def _wide_csv(columns: int = 100_000) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns))
    return (header + "\n" + ",".join("1" for _ in range(columns)) + "\n").encode()


def test_mixed_encodings_nul_bytes_and_wide_files(engine: Orchestrator, user_dir: Path) -> None:
    mixed = user_dir / "mixed.csv"
    mixed.write_bytes(UTF8_THEN_LATIN1)
    late_nul = user_dir / "late_nul.csv"
    late_nul.write_bytes(_csv_with_late_nul())
    wide = user_dir / "wide.csv"
    wide.write_bytes(_wide_csv())
    for specialist, text in (("data-analytics", "count rows in {}"), ("numerical", "mean of column amount in {}")):
        expect_refusal(
            run_task(engine, text.format("mixed.csv"), specialist, [mixed]), "mixed.csv", "encodings", "line 4"
        )
        expect_refusal(
            run_task(engine, text.format("late_nul.csv"), specialist, [late_nul]), "late_nul.csv", "NUL", "line 2002"
        )
        expect_refusal(
            run_task(engine, text.format("wide.csv"), specialist, [wide]),
            "wide.csv",
            "100,000 columns",
            "limit is 10,000",
        )
    # a pure Latin-1 file is still read (one encoding, guessed right)
    latin = user_dir / "latin.csv"
    latin.write_bytes("city,amount\nMalmö,30\nKöln,12\n".encode("latin-1"))
    outcome = run_task(engine, "count rows", "data-analytics", [latin])
    assert outcome.view is not None and outcome.view.state == "succeeded", outcome


def test_deeply_nested_json_file_is_refused_and_the_server_keeps_answering(
    engine: Orchestrator, user_dir: Path
) -> None:
    deep = user_dir / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    expect_refusal(run_task(engine, "count rows", "data-analytics", [deep]), "deep.json", "nested too deeply")
    ok = user_dir / "ok.json"
    ok.write_text(json.dumps([{"a": 1}, {"a": 2}]), encoding="utf-8")
    outcome = run_task(engine, "count rows", "data-analytics", [ok])
    assert outcome.view is not None and outcome.view.state == "succeeded" and "2" in outcome.view.answer, outcome


def _socket_of(engine: Orchestrator, container: str) -> Path:
    replica = next(r for r in engine.lifecycle.replicas() if r.name == container)
    return replica.exchange.socket


def _ask(sock_path: Path, line: bytes) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(sock_path))
        sock.sendall(line)
        with sock.makefile("rb") as reader:
            answer: dict[str, Any] = json.loads(reader.readline())
            return answer


def test_runtime_server_survives_a_deeply_nested_request(engine: Orchestrator, user_dir: Path) -> None:
    """A wire request nested 200,000 deep gets an error line; the same server then answers a ping and a task."""
    first = run_task(engine, "integrate x^2 from 0 to 3", "numerical")
    assert first.view is not None and first.view.container, first
    sock_path = _socket_of(engine, first.view.container)
    nested = b'{"v": 1, "kind": "task", "id": "deep", "plan": ' + b"[" * 200_000 + b"]" * 200_000 + b"}\n"
    answer = _ask(sock_path, nested)
    assert answer["ok"] is False and answer["error"]["kind"] == "bad_input", answer
    assert "nested too deeply" in answer["error"]["message"], answer
    assert _ask(sock_path, b'{"v": 1, "kind": "ping"}\n')["kind"] == "pong"
    again = run_task(engine, "integrate x^2 from 0 to 3", "numerical")
    assert again.view is not None and again.view.state == "succeeded", again
    assert again.view.container == first.view.container, "the container was replaced"


def _zip(path: Path, members: list[tuple[str, bytes]], link: tuple[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
        if link is not None:
            info = zipfile.ZipInfo(link[0])
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, link[1])
    return path


def test_zip_bombs_and_zip_slip_are_refused_before_extraction(
    engine: Orchestrator, user_dir: Path, docker_client: Any
) -> None:
    good = b"a,b\n1,2\n"
    cases = [
        (_zip(user_dir / "bomb.zip", [("big.csv", b"0" * (50 * 1024 * 1024))]), ("expands", "zip bomb")),
        (_zip(user_dir / "many.zip", [(f"f{i}.csv", good) for i in range(2100)]), ("2100 files", "limit is 2000")),
        (_zip(user_dir / "slip.zip", [("ok.csv", good), ("../../tmp/slip-dotdot.csv", good)]), ("escape",)),
        (_zip(user_dir / "abs.zip", [("/tmp/slip-abs.csv", good)]), ("escape",)),
        (_zip(user_dir / "backslash.zip", [("..\\..\\tmp\\slip-bs.csv", good)]), ("escape",)),
        (_zip(user_dir / "drive.zip", [("C:/tmp/slip-drive.csv", good)]), ("escape",)),
        (_zip(user_dir / "link.zip", [("ok.csv", good)], link=("passwd.csv", "/etc/passwd")), ("symbolic link",)),
    ]
    container = None
    for archive, words in cases:
        outcome = run_task(engine, "count rows", "data-analytics", [archive])
        expect_refusal(outcome, archive.name, *words)
        container = (outcome.view.container if outcome.view else None) or container
    assert container is not None
    _, listing = exec_in(docker_client, container, "sh", "-c", "find /tmp / -maxdepth 3 -name 'slip-*' 2>/dev/null")
    assert "slip" not in listing, listing
    fine = _zip(user_dir / "fine.zip", [("sub/part1.csv", good)])
    outcome = run_task(engine, "count rows", "data-analytics", [fine])
    assert outcome.view is not None and outcome.view.state == "succeeded", outcome


LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + ']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
)
XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData></worksheet>'
)


def _workbook(path: Path, sheet_xml: str | bytes) -> Path:
    """A minimal .xlsx (written by openpyxl's layout) whose first sheet is ``sheet_xml``."""
    ns = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": f'<?xml version="1.0"?><Types xmlns="{ns}/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>",
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{ns}/spreadsheetml/2006/main" '
        f'xmlns:r="{ns}/officeDocument/2006/relationships">'
        '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/>'
        "</Relationships>",
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return path


def test_workbooks_with_entities_or_bombs_are_refused(engine: Orchestrator, user_dir: Path) -> None:
    laughs = _workbook(user_dir / "laughs.xlsx", LAUGHS)
    expect_refusal(run_task(engine, "count rows", "data-analytics", [laughs]), "laughs.xlsx", "DTD")
    xxe = _workbook(user_dir / "xxe.xlsx", XXE)
    outcome = run_task(engine, "count rows", "data-analytics", [xxe])
    expect_refusal(outcome, "xxe.xlsx", "entities")
    assert "root:" not in outcome.message
    bomb_xml = b'<?xml version="1.0"?><worksheet>' + b" " * (50 * 1024 * 1024) + b"</worksheet>"
    bomb = _workbook(user_dir / "bomb.xlsx", bomb_xml)
    expect_refusal(run_task(engine, "count rows", "data-analytics", [bomb]), "bomb.xlsx", "zip bomb")
