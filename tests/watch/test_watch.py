"""Watchlists, calibrated tracking and search, on real text (the sample feed plus three real rows
of the development corpus, tests/data/watch_rows.csv; see tests/data/SOURCE.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from detector.cli.main import main
from detector.config import Config
from detector.embed.passages import PassageStage
from detector.errors import ConfigError
from detector.pipeline.daily import read_feeds, run_daily
from detector.pipeline.stages import Stages
from detector.sources.registry import OutletRegistry
from detector.store.store import Store
from detector.watch import NarrativeTracker, load_watchlist, search
from detector.watch.watchlist import watchlist_from_dict

ROOT = Path(__file__).resolve().parents[2]
ROWS = ROOT / "tests" / "data" / "watch_rows.csv"
STARTER = ROOT / "configs" / "watchlist.toml"
BIOLABS_ZH, BIOLABS_RU, FARMING_ZH = "c_20220326_13", "e_q0306_ru", "c_20220311_07"
STATEMENT = "The United States runs secret military biological laboratories in Ukraine."
ONE_ENTRY = f'[[narrative]]\nid = "biolabs"\nname = "US biolabs in Ukraine"\nstatements = ["{STATEMENT}"]\n'


# ---- the watchlist file ---------------------------------------------------------------------
def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watchlist.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_starter_watchlist_states_each_narrative_in_english_russian_and_chinese() -> None:
    watchlist = load_watchlist(STARTER)
    assert {"biolabs", "nato-provocation", "west-to-blame", "neo-nazi-kyiv", "sanctions-backfire",
            "western-puppet"} <= {n.id for n in watchlist.narratives}  # fmt: skip
    for narrative in watchlist.narratives:
        text = " ".join(narrative.statements)
        assert re.search(r"[A-Za-z]{4}", text), narrative.id
        assert re.search(r"[А-Яа-я]{4}", text), narrative.id
        assert re.search(r"[\u4e00-\u9fff]{3}", text), narrative.id
        assert narrative.sources, narrative.id


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no narratives"),
        (
            '[[narrative]]\nid = "x"\nname = "X"\nstatement = ["a"]\n',
            "narrative 1 (id 'x'): unknown key 'statement'",
        ),
        ('[[narrative]]\nid = "x"\nname = "X"\n', "narrative 1 (id 'x'): missing required key 'statements'"),
        (
            '[[narrative]]\nid = "x"\nname = "X"\nstatements = ["  "]\n',
            "narrative 1 (id 'x'): 'statements' is empty",
        ),
        (ONE_ENTRY + ONE_ENTRY, "narrative 2: id 'biolabs' is used twice"),
        ('[[narrative]]\nid = "has space"\nname = "X"\nstatements = ["a"]\n', "'id' must be letters"),
        ("[narrative\n", "not valid TOML"),
        ('title = "x"\n', "unknown top-level key 'title'"),
    ],
)
def test_an_empty_or_malformed_watchlist_is_an_error_naming_the_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_watchlist(write(tmp_path, text))


def test_the_command_line_reports_a_malformed_watchlist_in_one_line(tmp_path: Path) -> None:
    bad = write(tmp_path, '[[narrative]]\nid = "x"\nname = "X"\nstatment = ["a"]\n')
    store = tmp_path / "s.duckdb"
    store.touch()
    result = CliRunner().invoke(
        main, ["track", "-w", str(bad), "--store", str(store), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "narrative 1 (id 'x'): unknown key 'statment'. Did you mean 'statements'?" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["track", "search"])
def test_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    for option in ("--store", "--bloc", "--channel-type", "--since", "--until"):
        assert option in result.output


# ---- tracking on real text ------------------------------------------------------------------
@pytest.fixture(scope="module")
def watch_store(tmp_path_factory: pytest.TempPathFactory, default_config: Config, small_feed: Path) -> Path:
    """A store of 36 hours of the sample feed plus the three real rows, as `detector ingest` fills it."""
    path = tmp_path_factory.mktemp("watch") / "store.duckdb"
    with Store(path) as db:
        db.upsert_articles(read_feeds(default_config, [str(small_feed), str(ROWS)]).articles)
    return path


def parts(config: Config) -> tuple[PassageStage, OutletRegistry]:
    stages = Stages.from_config(config)
    return stages.splitter, stages.registry


@pytest.fixture(scope="module")
def tracked(watch_store: Path, default_config: Config, tmp_path_factory: pytest.TempPathFactory):
    stage, registry = parts(default_config)
    watchlist = watchlist_from_dict(
        {"narrative": [{"id": "biolabs", "name": "biolabs", "statements": [STATEMENT]}]}
    )
    with Store(watch_store) as db:
        return NarrativeTracker().track(db, stage, registry, watchlist)


def test_an_english_statement_finds_the_russian_and_the_chinese_item_that_state_it(tracked) -> None:
    hits = tracked.hits.set_index("id")
    assert {BIOLABS_ZH, BIOLABS_RU} <= set(hits.index)
    assert (hits.loc[BIOLABS_ZH, "language"], hits.loc[BIOLABS_ZH, "bloc"]) == ("zh", "cn")
    assert (hits.loc[BIOLABS_RU, "language"], hits.loc[BIOLABS_RU, "bloc"]) == ("ru", "ru")
    assert (hits["p_value"] <= 0.002).all()
    # the evidence is a real span of the article: its body between the offsets, or the whole item
    zh = hits.loc[BIOLABS_ZH]
    assert "生物实验室" in zh["passage"]


def test_an_unrelated_item_does_not_hit_and_the_background_mostly_stays_quiet(tracked) -> None:
    assert FARMING_ZH not in set(tracked.hits["id"])
    assert len(tracked.hits) <= 0.02 * tracked.facts["articles_in_scope"]


def test_the_summary_gives_first_appearance_per_bloc_and_the_lead(tracked) -> None:
    row = tracked.summary.set_index("watch_id").loc["biolabs"]
    assert row["n_cn"] >= 1
    assert row["n_ru"] >= 1
    assert row["first_cn_published_at"] <= row["first_ru_published_at"] or row["leader"] == "ru"
    assert row["leader"] in ("cn", "ru", "tie")
    assert 0 < row["first_lag_p_value"] <= 1


def test_search_ranks_the_items_that_state_it_first(watch_store: Path, default_config: Config) -> None:
    stage, registry = parts(default_config)
    with Store(watch_store) as db:
        found = search(db, stage, registry, "美国在乌克兰设有秘密军事生物实验室", top=5)
    assert {BIOLABS_ZH, BIOLABS_RU} <= set(found["id"].head(3))
    assert list(found["rank"]) == [1, 2, 3, 4, 5]


def test_track_writes_spreadsheet_safe_reports_and_a_manifest(watch_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["track", "-w", str(write(tmp_path, ONE_ENTRY)), "--store", str(watch_store), "--out", str(out),
            "--bloc", "cn", "--config", str(ROOT / "configs" / "default.toml")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    raw = (out / "watch_hits.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    hits = pd.read_csv(out / "watch_hits.csv", encoding="utf-8-sig")
    assert set(hits["bloc"]) == {"cn"}
    assert BIOLABS_ZH in set(hits["id"])
    assert {"passage", "passage_start", "passage_end", "channel_type", "p_value"} <= set(hits.columns)
    assert "生物实验室" in (out / "watch.html").read_text(encoding="utf-8")
    assert (out / "watch_manifest.json").is_file()
    assert (out / "watch_summary.csv").is_file()


def test_the_daily_run_adds_watched_hits_and_a_watched_column(
    default_config: Config, small_feed: Path, tmp_path: Path
) -> None:
    config = default_config.override("watch", watchlist=str(STARTER))
    run_daily(config, [str(small_feed), str(ROWS)], tmp_path)
    flags = pd.read_csv(tmp_path / "flags.csv", encoding="utf-8-sig")
    hits = pd.read_csv(tmp_path / "watch_hits.csv", encoding="utf-8-sig")
    assert "watched" in flags.columns
    assert "discovered" in hits.columns
    assert {BIOLABS_ZH, BIOLABS_RU} <= set(hits.loc[hits["watch_id"] == "biolabs", "id"])
    assert 'href="watch.html"' in (tmp_path / "report.html").read_text(encoding="utf-8")
    run_daily(default_config, [str(small_feed), str(ROWS)], tmp_path)  # watching nothing now
    assert not (tmp_path / "watch_hits.csv").exists()
    assert "watched" not in pd.read_csv(tmp_path / "flags.csv", encoding="utf-8-sig").columns
