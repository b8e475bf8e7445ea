"""Channel types in the reports (detector/report/channels.py) and the registry's languages, with the
real registry and real sample articles."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from detector.errors import ConfigError, InputError
from detector.report.channels import add_channels, filter_frames, reach
from detector.report.html import render_report
from detector.scoring.amplification import outlet_edges
from detector.sources.ingest import FeedReader
from detector.sources.registry import OutletRegistry
from tests.conftest import ROOT, SAMPLE_FEED
from tests.report.test_html_report import MANIFEST

REGISTRY_PATH = ROOT / "configs" / "outlets.toml"
NEW_OUTLET = """
[outlets."Pravda network"]
bloc = "ru"
country = "RU"
languages = ["fr", "en", "de"]
channel_type = "proxy"
aliases = ["Portal Kombat"]
cited_as = ["Pravda"]
"""


def extended_registry(tmp_path: Path) -> Path:
    """The shipped registry plus one new outlet, in one file: the only change extending needs."""
    path = tmp_path / "outlets.toml"
    path.write_text(REGISTRY_PATH.read_text(encoding="utf-8") + NEW_OUTLET, encoding="utf-8")
    return path


def sample_rows(n: int) -> pd.DataFrame:
    feed = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False)
    return feed.sort_values("published_at").head(n).reset_index(drop=True)


def test_languages_default_first_and_the_old_single_key_still_reads(tmp_path: Path) -> None:
    registry = OutletRegistry.from_toml(REGISTRY_PATH)
    cgtn = registry.get("CGTN Español")
    assert cgtn is not None
    assert cgtn.language == "en"
    assert {"es", "ar", "fr"} <= set(cgtn.languages)
    tv_brics = registry.get("TVBRICS")
    assert tv_brics is not None
    assert tv_brics.channel_type == "aggregator"
    assert tv_brics.bloc == "ru"
    old = tmp_path / "old.toml"
    old.write_text(
        '[outlets."RT"]\nbloc = "ru"\ncountry = "RU"\nlanguage = "ru"\nchannel_type = "state_media"\n'
    )
    rt = OutletRegistry.from_toml(old).get("rt")
    assert rt is not None
    assert rt.languages == ("ru",)
    assert rt.language == "ru"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('languages = ["ru"]\nlanguage = "ru"', "both languages and language"),
        ("languages = []", "non-empty list"),
        ('languages = ["ru"]\nlanguges = ["en"]', "unknown keys"),
        ("", "lacks"),
    ],
)
def test_bad_language_entries_name_the_table_and_the_fix(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'[outlets."X"]\nbloc = "ru"\ncountry = "RU"\nchannel_type = "proxy"\n{entry}\n')
    with pytest.raises(ConfigError, match=message):
        OutletRegistry.from_toml(path)


def test_a_new_outlet_flows_through_from_one_toml_table(tmp_path: Path) -> None:
    registry = OutletRegistry.from_toml(extended_registry(tmp_path))
    rows = sample_rows(6)
    rows.loc[[1, 4], ["outlet", "bloc", "language"]] = ["Portal Kombat", "", ""]  # the feed names an alias
    feed = tmp_path / "feed.csv"
    rows.to_csv(feed, index=False)
    articles = FeedReader(registry).read([str(feed)]).articles
    new = articles[articles["outlet"] == "Portal Kombat"]
    assert set(new["bloc"]) == {"ru"}
    assert set(new["language"]) == {"fr"}
    members = articles.assign(narrative_id="N1")
    flags = pd.DataFrame({"rank": [1], "narrative_id": ["N1"]})
    pairs = pd.DataFrame({"narrative_id": ["N1"], "cn_outlet": ["CCTV"], "ru_outlet": ["Portal Kombat"]})
    flags, members, pairs = add_channels(flags, members, pairs, registry)
    assert set(members.loc[members["outlet"] == "Portal Kombat", "channel_type"]) == {"proxy"}
    assert pairs["ru_channel_type"].item() == "proxy"
    assert "proxy" in flags["channel_path"].item().split(" -> ")
    assert "fr" in flags["language_path"].item().split(" -> ")
    kept = filter_frames({"flags": flags, "members": members, "pairs": pairs}, ["proxy"])
    assert kept["flags"]["narrative_id"].tolist() == ["N1"]
    edges = outlet_edges(members)
    into_new = edges[edges["target_outlet"] == "Portal Kombat"]
    assert len(into_new)
    assert set(into_new["target_channel_type"]) == {"proxy"}
    # Without the table the same feed is rejected: the registry is what made it flow.
    shipped = FeedReader(OutletRegistry.from_toml(REGISTRY_PATH), on_bad_row="skip").read([str(feed)])
    assert len(shipped.rejected) == 2


def members_frame() -> pd.DataFrame:
    """Two narratives of real registry outlets; rows deliberately not in time order."""
    when = pd.to_datetime(
        ["2022-03-08T12:00Z", "2022-03-07T09:00Z", "2022-03-08T10:00Z", "2022-03-09T08:00Z",
         "2022-03-10T08:00Z", "2022-03-10T09:00Z"], utc=True,
    )  # fmt: skip
    return pd.DataFrame(
        {"narrative_id": ["N1", "N1", "N1", "N1", "N2", "N2"], "id": ["a", "b", "c", "d", "e", "f"],
         "outlet": ["Global Times", "Russian MoD", "RT", "PRC MFA spokesperson", "CCTV", "TASS"],
         "bloc": ["cn", "ru", "ru", "cn", "cn", "ru"], "language": ["en", "ru", "en", "zh", "zh", "ru"],
         "published_at": when}
    )  # fmt: skip


def test_channel_and_language_paths_follow_first_appearance() -> None:
    registry = OutletRegistry.from_toml(REGISTRY_PATH)
    flags = pd.DataFrame({"rank": [1, 2], "narrative_id": ["N1", "N2"]})
    flags, members, _ = add_channels(flags, members_frame(), pd.DataFrame(), registry)
    n1 = flags.set_index("narrative_id").loc["N1"]
    # Russian MoD (ru) -> RT (en) -> Global Times (en) -> PRC MFA (zh)
    assert n1["channel_path"] == "diplomatic -> state_media"
    assert n1["language_path"] == "ru -> en -> zh"
    assert reach(members).loc["N2", "channel_path"] == "state_media"
    assert members.set_index("id").loc["b", "channel_type"] == "diplomatic"


def test_filter_keeps_narratives_reaching_any_type_whole_and_ranked() -> None:
    registry = OutletRegistry.from_toml(REGISTRY_PATH)
    flags = pd.DataFrame({"rank": [1, 2], "narrative_id": ["N1", "N2"]})
    pairs = pd.DataFrame(
        {"narrative_id": ["N1", "N2"], "pair_rank": [1, 1], "cn_outlet": ["Global Times", "CCTV"],
         "ru_outlet": ["RT", "TASS"], "lag_hours": [-2.0, 1.0], "link_type": ["echo", "echo"]}
    )  # fmt: skip
    flags, members, pairs = add_channels(flags, members_frame(), pairs, registry)
    frames = {"flags": flags, "members": members, "pairs": pairs, "outlets": outlet_edges(members, pairs)}
    diplomatic = filter_frames(frames, ["diplomatic"])
    assert diplomatic["flags"]["narrative_id"].tolist() == ["N1"]
    assert sorted(diplomatic["members"]["id"]) == [
        "a",
        "b",
        "c",
        "d",
    ]  # the whole narrative, not only diplomats
    assert diplomatic["pairs"]["narrative_id"].tolist() == ["N1"]
    assert set(diplomatic["outlets"]["example_narrative_id"]) == {"N1"}
    both = filter_frames(frames, ["diplomatic", "state_media"])
    assert both["flags"]["rank"].tolist() == [1, 2]
    assert filter_frames(frames, ["aggregator"])["flags"].empty
    with pytest.raises(InputError, match="no channel types"):
        filter_frames({**frames, "flags": flags.drop(columns="channel_path")}, ["proxy"])


def test_page_groups_and_filters_by_channel_type() -> None:
    registry = OutletRegistry.from_toml(REGISTRY_PATH)
    flags = pd.DataFrame({"rank": [1, 2], "narrative_id": ["N1", "N2"], "label": ["biolabs", "other"]})
    flags, members, _ = add_channels(flags, members_frame(), pd.DataFrame(), registry)
    page = render_report(flags, members, None, MANIFEST)
    assert '<table id="channels">' in page
    assert page.count('type="checkbox" data-channel=') == 2  # diplomatic, state_media: the types present
    assert '<tr data-channels="diplomatic state_media">' in page
    assert '<tr data-channels="state_media">' in page
    assert "Channel types: diplomatic -&gt; state_media; languages: ru -&gt; en -&gt; zh" in page
    assert "<td>diplomatic</td>" in page  # the members table has the channel type
