"""Bad verdict files through the real command (``detector verdicts import``), one subprocess each.

For every case: exit 2, exactly one ``Error:`` line (no traceback) naming the file, and the row
and field where there is one, with the fix; the store byte-identical, no verdict recorded.
The store is a real DuckDB file holding one finished run with three flags (no model needed).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from detector.report.columns import FLAG_COLUMNS, VERDICT_COLUMNS
from detector.report.writer import write_csv
from detector.store.store import Store
from tests.reliability import harness

IDS = ["N20241126-aaaa0001", "N20241126-aaaa0002", "N20241127-aaaa0003"]
RUN = "run-verdictfile1"


def good_flags() -> pd.DataFrame:
    return pd.DataFrame({
        "rank": [1, 2, 3], "narrative_id": IDS, "label": ["=SUM(A1)", "Biolabs", "Grain deal"],
        "q_value": [0.0, 0.01, 0.05], "channel_path": ["state_media"] * 3, "outlets_cn": [1, 1, 2],
        "new": [True, True, False], "verdict": ["", "", ""], "verdict_note": ["", "", ""],
        "verdict_by": ["", "", ""], "verdict_at": ["", "", ""], "review": ["", "", ""],
    })  # fmt: skip


@pytest.fixture(scope="module")
def good_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("vstore") / "store.duckdb"
    flags = good_flags()
    members = pd.DataFrame({"narrative_id": IDS, "outlet": ["CGTN", "RT", "TASS"],
                            "channel_type": ["state_media"] * 3})  # fmt: skip
    with Store(store) as db:
        db.start_run(RUN, "method", "model", datetime(2024, 11, 28))
        db.put_report_frames(RUN, {"flags": flags, "members": members})
        db.finish_run(RUN, flags, {"run_id": RUN}, datetime(2024, 11, 28, 1))
    with Store(store):  # opened once more: what a store already at this version looks like
        pass
    return store


def flags_csv(
    edit: Callable[[pd.DataFrame], pd.DataFrame] = lambda f: f, drop: str = ""
) -> Callable[[Path], bytes]:
    def data(folder: Path) -> bytes:
        path = folder / "tmp_flags.csv"
        write_csv(edit(good_flags()), path, [c for c in FLAG_COLUMNS + VERDICT_COLUMNS if c != drop])
        return path.read_bytes()

    return data


def with_verdicts(*cells: tuple[int, str, str]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(flags: pd.DataFrame) -> pd.DataFrame:
        for row, column, value in cells:
            flags.loc[row, column] = value
        return flags

    return edit


def text(content: str) -> Callable[[Path], bytes]:
    return lambda folder: content.encode("utf-8")


def workbook(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


@dataclass(frozen=True)
class Case:
    name: str
    data: Callable[[Path], bytes] | None  # None: the file does not exist
    says: tuple[str, ...]


CASES = [
    Case("missing_file", None, ("verdicts.csv", "cannot be read")),
    Case("empty_file", text(""), ("is empty",)),
    Case("excel_workbook", workbook, ("is a ZIP archive, not a CSV", "CSV UTF-8")),
    Case("cp1251_text", lambda f: "narrative_id,verdict\nN1,отклонено\n".encode("cp1251"), ("not UTF-8",)),
    Case("one_column", text("just some notes\nabout flags\n"), ("single column",)),
    Case("no_id_column", text("id,verdict\nN1,confirmed\n"), ("field 'narrative_id'", "no narrative_id")),
    Case("no_verdict_column", flags_csv(drop="verdict"), ("field 'verdict'",)),
    Case("header_only", text("narrative_id,verdict\r\n"), ("no rows",)),
    Case("unknown_verdict", flags_csv(with_verdicts((1, "verdict", "confirm"))),
         ("row 2", "field 'verdict'", "'confirm'", "confirmed, dismissed, unsure")),
    Case("unknown_narrative", flags_csv(with_verdicts(
            (0, "verdict", "dismissed"), (2, "narrative_id", "N1-x"), (2, "verdict", "confirmed"))),
         ("row 3", "field 'narrative_id'", "unknown narrative id", "'N1-x'")),
    Case("another_store", text("narrative_id,verdict\nN20200101-00000000,dismissed\nN20200101-1,\n"),
         ("is for another store", "row 1")),
    Case("page_csv_of_another_run", text(f"run_id,narrative_id,verdict\nrun-elsewhere,{IDS[0]},dismissed\n"),
         ("is for another store", "run-elsewhere", "field 'run_id'")),
    Case("bad_verdict_at",
         flags_csv(with_verdicts((0, "verdict", "dismissed"), (0, "verdict_at", "yesterday"))),
         ("row 1", "field 'verdict_at'", "ISO 8601")),
    Case("two_verdicts_one_id", text(f"narrative_id;verdict\r\n{IDS[0]};dismissed\r\n{IDS[0]};confirmed\r\n"),
         ("row 2", "second verdict", "row 1 says dismissed")),
    Case("unknown_theme", text(f"narrative_id,theme_id,verdict\n{IDS[0]},,\n,T-nope,confirmed\n"),
         ("row 2", "field 'theme_id'", "unknown theme id")),
    Case("ragged_row", text(f"narrative_id,verdict\n{IDS[0]},dismissed,extra,cells\n"), ("row 1", "4 cells")),
    Case("verdict_without_id", text(f"narrative_id,verdict\n{IDS[0]},\n,dismissed\n"),
         ("row 2", "has a verdict but no id")),
]  # fmt: skip


def test_the_sweep_has_at_least_10_distinct_cases() -> None:
    assert len({case.name for case in CASES}) == len(CASES) >= 10


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_bad_verdict_file_is_one_line_and_changes_nothing(
    case: Case, good_store: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store.duckdb"
    store.write_bytes(good_store.read_bytes())
    file = tmp_path / "verdicts.csv"
    if case.data is not None:
        file.write_bytes(case.data(tmp_path))
    before = harness.sha256(store)
    outcome = harness.cli(["verdicts", "import", str(file), "--store", str(store)])
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("Error:")]
    assert outcome.returncode == 2, outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert len(errors) == 1, outcome.stderr
    assert "Fix:" in errors[0], errors[0]
    assert str(file) in errors[0], errors[0]
    for said in case.says:
        assert said in errors[0], errors[0]
    assert harness.sha256(store) == before, "the store changed"
    with Store(store) as db:
        assert db.count("verdicts") == 0


def test_the_good_file_imports(good_store: Path, tmp_path: Path) -> None:
    """The cases above fail for their fault alone: the unbroken file goes in."""
    store = tmp_path / "store.duckdb"
    store.write_bytes(good_store.read_bytes())
    file = tmp_path / "verdicts.csv"
    edit = with_verdicts((0, "verdict", "dismissed"), (2, "verdict", "Confirmed"))
    file.write_bytes(flags_csv(edit)(tmp_path))
    outcome = harness.cli(["verdicts", "import", str(file), "--store", str(store), "--by", "me"])
    assert outcome.returncode == 0, outcome.stderr
    with Store(store) as db:
        rows = db.con_.execute("SELECT target_id, verdict, analyst FROM verdicts ORDER BY seq").fetchall()
    assert rows == [(IDS[0], "dismissed", "me"), (IDS[2], "confirmed", "me")]
