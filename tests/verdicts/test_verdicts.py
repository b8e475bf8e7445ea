"""Verdicts without the model: the spreadsheet round trip of a verdict file, the append-only
history in a real store, the rules a run applies (lineage, dismissed, confirmed, new), the store
migration, the q-value resolution and the page's ``< x``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detector.errors import ConfigError
from detector.report.html import render_report
from detector.report.verdict_page import shown_q_values
from detector.scoring.fdr import estimate_null
from detector.store.store import Store
from detector.verdicts.files import read_verdicts, unquote
from detector.verdicts.history import Verdict, carry, current, first_flagged, import_rows, narrative_verdicts
from detector.verdicts.rules import VerdictRules, theme_columns

WHEN = datetime(2024, 11, 28, 9, 30)


def verdict(nid: str, value: str, outlets: list[str] = (), statements: list[list[str]] = ()) -> Verdict:  # type: ignore[assignment]
    snapshot = {"outlets": list(outlets), "statements": list(statements), "label": f"label {nid}"}
    return Verdict(nid, value, "note", "ann", WHEN, snapshot, None)


def test_a_spreadsheet_saved_file_reads_back(tmp_path: Path) -> None:
    file = tmp_path / "v.csv"
    body = "rank;narrative_id;label;verdict;verdict_note;verdict_at\r\n"
    body += "1;N1;'=SUM(A1);Confirmed;'=MFA repeats;2024-11-28T09:30:00Z\r\n"
    body += "2;N2;x;;;\r\n"
    body += '3;N3;"a;b";clear;"say ""no""";2024-11-28 10:00\r\n'
    file.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    rows, ids = read_verdicts(str(file))
    assert ids == ["N1", "N2", "N3"]
    assert [(r.target_id, r.verdict, r.note, r.at, r.row) for r in rows] == [
        ("N1", "confirmed", "=MFA repeats", WHEN, 1),
        ("N3", "", 'say "no"', datetime(2024, 11, 28, 10), 3),
    ]
    assert unquote("'-17") == "-17"
    assert unquote("'quoted") == "'quoted"  # an apostrophe before plain text is the analyst's


def test_a_flags_row_is_its_narratives_verdict_and_a_themes_row_its_themes(tmp_path: Path) -> None:
    file = tmp_path / "v.csv"  # flags.csv names the theme that holds a flag beside it: context
    file.write_text("narrative_id,theme_id,verdict\nN1,T1,dismissed\n,T2,confirmed\n", encoding="utf-8")
    rows, _ = read_verdicts(str(file))
    assert [(r.kind, r.target_id, r.verdict) for r in rows] == [
        ("narrative", "N1", "dismissed"),
        ("theme", "T2", "confirmed"),
    ]


def test_history_is_append_only_and_a_reimport_changes_nothing(tmp_path: Path) -> None:
    file = tmp_path / "v.csv"
    with Store(tmp_path / "s.duckdb") as db:
        for text, expect in [("N1,dismissed,", 1), ("N1,dismissed,", 0), ("N1,dismissed,bob", 1),
                             ("N1,confirmed,bob", 1), ("N1,clear,bob", 1), ("N1,clear,bob", 0)]:  # fmt: skip
            file.write_text(f"narrative_id,verdict,verdict_by\n{text}\n", encoding="utf-8")
            rows, _ = read_verdicts(str(file))
            assert import_rows(db, rows, str(file), "alice").appended == expect, text
        history = db.con_.execute("SELECT verdict, previous, analyst FROM verdicts ORDER BY seq").fetchall()
        assert history == [("dismissed", None, "alice"), ("dismissed", "dismissed", "bob"),
                           ("confirmed", "dismissed", "bob"), ("", "confirmed", "bob")]  # fmt: skip
        assert current(db)["verdict"].tolist() == [""]
        assert narrative_verdicts(db) == {}  # cleared: no verdict


def test_dismissed_are_left_out_unless_they_reach_new_outlets() -> None:
    flags = pd.DataFrame({"rank": [1, 2, 3, 4], "narrative_id": ["A", "B", "C", "D"]})
    outlets = ["CGTN", "RT", "CGTN", "RT", "TASS", "CGTN", "RT", "RT"]
    members = pd.DataFrame({"narrative_id": list("AABBBCCD"), "outlet": outlets})
    verdicts = {
        "A": verdict("A", "dismissed", ["CGTN", "RT"]),
        "B": verdict("B", "dismissed", ["CGTN", "RT"]),
        "C": verdict("C", "confirmed", ["CGTN"], [["en", "a claim"], ["ru", "утверждение"]]),
        "E": verdict("E", "confirmed", ["RT"], [["ru", "не сегодня"]]),  # confirmed, not flagged today
    }
    first = {"A": "run-0", "B": "run-0", "C": "run-1"}
    out = VerdictRules().apply(flags, members, verdicts, first, "run-1")
    assert out.flags["narrative_id"].tolist() == ["B", "C", "D"]
    assert out.flags["rank"].tolist() == [1, 2, 3]
    assert out.hidden == ["A"]
    assert out.resurfaced == {"B": ["TASS"]}
    assert out.flags["new"].tolist() == [False, True, True]
    assert out.flags["verdict"].tolist() == ["dismissed", "confirmed", ""]
    assert [(n.id, n.statements) for n in out.tracked] == [
        ("C", ("a claim", "утверждение")),
        ("E", ("не сегодня",)),
    ]
    stricter = VerdictRules(resurface_outlets=2).apply(flags, members, verdicts, first, "run-1")
    assert stricter.hidden == ["A", "B"]
    shown = VerdictRules(show_dismissed=True).apply(flags, members, verdicts, first, "run-1")
    assert shown.flags["narrative_id"].tolist() == ["A", "B", "C", "D"]
    assert shown.flags.loc[0, "review"].startswith("dismissed: not flagged")
    with pytest.raises(ConfigError, match="resurface_outlets"):
        VerdictRules(resurface_outlets=0)


def test_lineage_carries_verdicts_to_ids_without_their_own() -> None:
    lineage = {
        "splits": [{"window": "w1", "parent": p, "child": c} for p, c in (("P", "C"), ("Q", "R"))],
        "merges": [
            {"window": "w2", "kept": k, "absorbed": a} for k, a in (("K", "C"), ("K", "D"), ("R", "P"))
        ],
    }
    verdicts = {"P": verdict("P", "dismissed"), "D": verdict("D", "confirmed"), "R": verdict("R", "unsure")}
    carried = VerdictRules.carried(verdicts, lineage)
    # C takes P's (split); K takes D's confirmed over C's carried dismissal; R keeps its own.
    assert sorted(carried) == [
        ("C", "P", "split in window w1", "dismissed"),
        ("K", "D", "merge in window w2", "confirmed"),
    ]


def test_a_carried_verdict_is_recorded_once_per_run(tmp_path: Path) -> None:
    file = tmp_path / "v.csv"
    file.write_text("narrative_id,verdict,verdict_note\nP,dismissed,same call\n", encoding="utf-8")
    with Store(tmp_path / "s.duckdb") as db:
        import_rows(db, read_verdicts(str(file))[0], str(file), "alice")
        for _ in range(2):  # the run, then its re-run after a crash
            assert carry(db, [("C", "P", "split in window w1", "dismissed")], "run-2") == 1
        assert narrative_verdicts(db)["C"].verdict == "dismissed"
        assert narrative_verdicts(db)["C"].note == "same call"
        assert "C" not in narrative_verdicts(db, leave_out_run="run-2")  # what the re-run decides from
        rows = db.con_.execute("SELECT count(*), min(source) FROM verdicts WHERE target_id = 'C'").fetchone()
    assert rows == (1, "lineage: split in window w1")


def test_themes_show_their_verdicts() -> None:
    themes = pd.DataFrame({"theme_id": ["T1", "T2"]})
    out = theme_columns(themes, {"T2": verdict("T2", "confirmed")})
    assert out["verdict"].tolist() == ["", "confirmed"]
    assert out["verdict_at"].tolist() == ["", "2024-11-28T09:30:00Z"]


def test_older_stores_get_the_tables_and_their_first_flags(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    flags = pd.DataFrame({"narrative_id": ["N1", "N2"]})
    with Store(path) as db:
        for run, nids, hour in (("run-a", ["N1"], 1), ("run-b", ["N1", "N2"], 2)):
            db.start_run(run, "m", "model", datetime(2024, 1, 1, hour))
            db.finish_run(run, flags[flags["narrative_id"].isin(nids)], {}, datetime(2024, 1, 1, hour, 30))
        db.con_.execute("DROP TABLE verdicts")  # as a store made before verdicts existed
        db.con_.execute("DROP TABLE first_flagged")
    with Store(path) as db:
        assert first_flagged(db) == {"N1": "run-a", "N2": "run-b"}
        assert db.count("verdicts") == 0


def test_q_values_below_the_decoys_resolution_are_shown_as_below_it() -> None:
    null = estimate_null(np.array([9.0, 8.0, 1.0]), np.array([0.5, 2.0]), 100, 200)
    assert null.q_values.tolist()[:2] == [0.0, 0.0]
    assert null.resolution(null.q_values) == 0.25  # one decoy = 0.5 expected, over the two at 0
    assert null.resolution(np.array([0.1])) is None
    flags = pd.DataFrame({"rank": [1, 2], "narrative_id": ["N1", "N2"], "q_value": [0.0, 0.1]})
    manifest = {"run_id": "r", "null": {"q_resolution": 0.25}}
    assert shown_q_values(flags, manifest)["q_value"].tolist() == ["< 0.25", 0.1]
    page = render_report(flags.assign(verdict="", new=True), pd.DataFrame(), None, manifest)
    assert "<td>&lt; 0.25</td>" in page
    assert 'id="verdict-save"' in page


def test_tune_weighs_the_analysts_labelled_pairs() -> None:
    from detector.config import Config
    from detector.evaluate.metrics import EventScores
    from detector.evaluate.tune import Objective, set_param, verdict_agreement

    pairs = pd.DataFrame({"language_pair": ["en-ru", "en-ru", "ru-zh"], "similarity": [0.8, 0.5, 0.6],
                          "label": [1, 0, 0]})  # fmt: skip
    loose, strict = Config(), set_param(Config(), "score.min_similarity_by_language_pair.en-ru", 0.6)
    strict = set_param(strict, "score.min_similarity_by_language_pair.ru-zh", 0.7)
    assert verdict_agreement(loose, pairs) == 0.5  # keeps the confirmed pair and both dismissed ones
    assert verdict_agreement(strict, pairs) == 1.0
    scores = [EventScores({"translation": 0.5}, {"translation": 1}, {"translation": 2}, 1.0, 1, 1, 0, 0.0)]
    objective = Objective(2.0, pairs, verdict_weight=0.5)
    assert objective.key(scores, loose) == (1, 0.5, -0.0)
    assert objective.key(scores, strict) == (1, 0.75, -0.0)
    assert Objective(2.0).key(scores, strict) == (1, 0.5, -0.0)  # no verdicts: events alone


def test_a_watched_narrative_over_fewer_days_than_the_largest_lag() -> None:
    """A confirmed narrative is watched in every daily run, also one of five days with
    ``[watch] max_lag_days = 7``: the cross-correlation must not wrap its slices."""
    from detector.watch.timeline import xcorr_peak

    cn, ru = np.array([0, 2, 1, 0, 3]), np.array([1, 0, 2, 1, 0])
    lag, r = xcorr_peak(cn, ru, 7)
    assert abs(lag) <= 2
    assert -1.0 <= r <= 1.0
