"""Open CSVs the way an analyst does, in LibreOffice Calc, and report any cell that became a formula.

Each CSV is converted headless to .xlsx with formula evaluation switched on (the import
dialog's "Evaluate formulas"), as UTF-8, comma-separated; the workbook's XML then says, cell by
cell, whether Calc made it a formula (``<f>``) and what text it holds. A cell whose text starts
with a formula trigger (``= + - @``, tab, CR) is counted too: Calc keeps ``+1+1`` as text, but
Excel runs it. Exit status 0 when no CSV has either, 1 otherwise, 2 when LibreOffice is missing.

    python scripts/check_csv_formulas.py out/flags.csv out/members.csv out/pairs.csv

Needs ``soffice`` (Debian: ``apt-get install -y libreoffice-calc``, ~300 MB: not part of
``make setup``; ``tests/test_hostile_output.py`` runs this only where soffice exists).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# CSV import options, by position: separator 44 (,), text delimiter 34 ("), charset 76 (UTF-8),
# from line 1, default column formats, language 0, quoted fields not forced to text, detect special
# numbers, (3 export-only options), evaluate formulas = true.
CSV_FILTER = "CSV:44,34,76,1,,0,false,true,false,false,false,-1,true"


@dataclass
class Sheet:
    path: Path
    cells: int = 0
    formulas: list[tuple[str, str]] = field(default_factory=list)  # (cell ref, formula)
    triggers: list[tuple[str, str]] = field(default_factory=list)  # (cell ref, text)
    neutralised: int = 0  # text cells shown as "'=...": a trigger kept as text by the apostrophe


def convert(csv_paths: list[Path], out_dir: Path, soffice: str) -> None:
    profile = out_dir / "profile"  # a fresh LibreOffice profile: no dialog, no shared state
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         f"--infilter={CSV_FILTER}", "--convert-to", "xlsx", "--outdir", str(out_dir),
         *map(str, csv_paths)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip


def inspect(csv_path: Path, xlsx: Path) -> Sheet:
    sheet = Sheet(csv_path)
    with zipfile.ZipFile(xlsx) as book:
        names = book.namelist()
        shared = []
        if "xl/sharedStrings.xml" in names:
            root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
            shared = [
                "".join(t.text or "" for t in si.iter(f"{{{NS['x']}}}t")) for si in root.findall("x:si", NS)
            ]
        root = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    for cell in root.iter(f"{{{NS['x']}}}c"):
        sheet.cells += 1
        ref, formula, value = cell.get("r", "?"), cell.find("x:f", NS), cell.find("x:v", NS)
        if formula is not None:
            sheet.formulas.append((ref, formula.text or ""))
            continue
        if cell.get("t") == "s" and value is not None:
            text = shared[int(value.text or 0)]
        elif cell.get("t") == "inlineStr":
            text = "".join(t.text or "" for t in cell.iter(f"{{{NS['x']}}}t"))
        else:
            continue  # a number
        if text.startswith(TRIGGERS):
            sheet.triggers.append((ref, text))
        elif text.startswith("'") and text[1:].startswith(TRIGGERS):
            sheet.neutralised += 1
    return sheet


def check(csv_paths: list[Path], soffice: str) -> list[Sheet]:
    with tempfile.TemporaryDirectory(prefix="csv-formulas-") as tmp:
        convert(csv_paths, Path(tmp), soffice)
        return [inspect(p, Path(tmp) / f"{p.stem}.xlsx") for p in csv_paths]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="+", type=Path, help="CSV files to open")
    args = parser.parse_args(argv)
    soffice = shutil.which("soffice")
    if soffice is None:
        print("soffice not found: apt-get install -y libreoffice-calc", file=sys.stderr)
        return 2
    if len({p.stem for p in args.csv}) != len(args.csv):
        parser.error("the CSVs need distinct file names (LibreOffice names its output after them)")
    bad = False
    print(f"{'file':<40} {'cells':>7} {'formulas':>8} {'trigger text':>12} {'neutralised':>11}")
    for sheet in check(args.csv, soffice):
        print(f"{sheet.path!s:<40} {sheet.cells:>7} {len(sheet.formulas):>8} "
              f"{len(sheet.triggers):>12} {sheet.neutralised:>11}")  # fmt: skip
        for ref, text in sheet.formulas:  # every one: each is a cell an analyst's spreadsheet runs
            print(f"  formula in {ref}: ={text[:80]}")
        for ref, text in sheet.triggers:
            print(f"  text a spreadsheet may run in {ref}: {text[:80]!r}")
        bad |= bool(sheet.formulas or sheet.triggers)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
