"""Language tags are read as BCP 47 primary languages everywhere (feeds, registry, per-pair
settings), and a per-pair setting the scorer would never look up is a config error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from detector.config import config_from_dict
from detector.errors import ConfigError, InputError
from detector.languages import primary_language
from detector.sources.ingest import FeedReader
from detector.sources.registry import OutletRegistry, language_pair
from tests.conftest import ROOT, SAMPLE_FEED


@pytest.mark.parametrize(
    ("tag", "primary"),
    [("zh-CN", "zh"), ("zh-Hans", "zh"), ("zh-TW", "zh"), ("zh_Hant_TW", "zh"), ("ZH", "zh"),
     ("ru-RU", "ru"), ("ru_RU", "ru"), ("en-GB", "en"), ("es-419", "es"), ("rus", "ru"), ("zho", "zh"),
     ("cmn", "zh"), ("yue-HK", "yue"), ("und", "und"), ("qq", "qq")],
)  # fmt: skip
def test_tags_become_their_primary_language(tag: str, primary: str) -> None:
    assert primary_language(tag) == primary


@pytest.mark.parametrize("tag", ["russian", "x-private", "i-klingon", "1a", "中文", "-ru"])
def test_what_is_not_a_tag_is_refused(tag: str) -> None:
    with pytest.raises(ValueError, match="not a BCP 47 language tag"):
        primary_language(tag)


def test_language_pairs_are_looked_up_in_one_form() -> None:
    assert language_pair("zh-CN", "ru-RU") == language_pair("ru", "zh") == "ru-zh"
    assert language_pair("", "en-GB") == "en-und"


def score(table: object) -> dict[str, object]:
    return {"score": {"min_similarity_by_language_pair": table}}


def test_canonical_pairs_with_cosines_are_accepted() -> None:
    config = config_from_dict(score({"ru-zh": 0.35, "en-ru": -0.1, "ru-ru": 1, "yue-zh": 0.5}))
    assert config.score.min_similarity_by_language_pair["ru-zh"] == 0.35


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"zh-ru": 0.4}, 'key "zh-ru" must be written "ru-zh"'),
        ({"RU-ZH": 0.4}, 'key "RU-ZH" must be written "ru-zh"'),
        ({"rus-zho": 0.4}, 'key "rus-zho" must be written "ru-zh"'),
        ({"ru_zh": 0.4}, 'key "ru_zh" must be written "ru-zh"'),
        ({"russian-chinese": 0.4}, "key \"russian-chinese\" cannot be read ('russian' is not a BCP 47"),
        ({"ru-zh-CN": 0.4}, "is not two language codes joined by '-'"),
        ({"ru-qq": 0.4}, "'qq' in 'ru-qq' is not an ISO 639 language code"),
        ({"ru-zh": 7}, '["ru-zh"] = 7 is out of range; use a cosine in [-1, 1]'),
        ({"ru-zh": "0.4"}, "must be a number in [-1, 1], saw '0.4'"),
        ({"ru-zh": True}, "must be a number in [-1, 1], saw True"),
        (0.4, "must be a table like"),
    ],
)
def test_a_pair_the_scorer_would_never_look_up_is_an_error(table: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict(score(table), where="my.toml")
    assert str(caught.value).startswith("my.toml: [score] min_similarity_by_language_pair")
    assert message in str(caught.value)


def sample_rows(n: int = 6) -> pd.DataFrame:
    """Real rows of the sample: cn in en and zh, ru in ru."""
    feed = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False)
    return pd.concat([feed[feed["language"] == lang].head(n // 3) for lang in ("en", "zh", "ru")])


def test_ingest_reads_tags_as_primary_languages(tmp_path: Path) -> None:
    rows = sample_rows()
    rows["language"] = ["en-GB", "EN_us", "zh-CN", "zh-Hant-TW", "ru-RU", ""]
    path = tmp_path / "feed.csv"
    rows.to_csv(path, index=False)
    reader = FeedReader(OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml"))
    articles = reader.read([str(path)]).articles.set_index("id").loc[rows["id"]]
    assert articles["language"].tolist() == ["en", "en", "zh", "zh", "ru", "ru"]  # "" = the outlet's


def test_a_row_whose_language_is_not_a_tag_is_refused_with_row_and_field(tmp_path: Path) -> None:
    rows = sample_rows()
    rows.iloc[4, rows.columns.get_loc("language")] = "Russian"
    path = tmp_path / "feed.csv"
    rows.to_csv(path, index=False)
    reader = FeedReader(OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml"))
    with pytest.raises(InputError) as caught:
        reader.read([str(path)])
    message = str(caught.value)
    assert "row 5" in message
    assert "field 'language'" in message
    assert "not a BCP 47 language tag (saw 'Russian')" in message


def test_registry_languages_are_primary_languages(tmp_path: Path) -> None:
    path = tmp_path / "outlets.toml"
    path.write_text(
        '[outlets."CGTN"]\nbloc = "cn"\ncountry = "CN"\nchannel_type = "state_media"\n'
        'languages = ["zh-CN", "zh-TW", "en-GB", "ru_RU"]\n',
        encoding="utf-8",
    )
    entry = OutletRegistry.from_toml(path).get("CGTN")
    assert entry is not None
    assert entry.languages == ("zh", "en", "ru")
    path.write_text(path.read_text(encoding="utf-8").replace('"ru_RU"', '"Russian"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r'\[outlets."CGTN"\] languages: \'Russian\' is not a BCP 47'):
        OutletRegistry.from_toml(path)
