"""Link types on real text (dev corpus: Xinhua/CGTN headlines, CCTV transcripts, injected quotes)."""

from __future__ import annotations

import pandas as pd
import pytest

from detector.scoring.links import LinkClassifier
from detector.sources.registry import OutletRegistry
from tests.conftest import ROOT

# Real Chinese-bloc headlines (shared/data/a_state_headlines_2022.csv) with wire attribution.
WIRE_HEADLINE = "Ukrainian delegation for talks with Russia is in Belarus: Sputnik"
# Real CCTV Xinwen Lianbo sentence (c_cctv_xwlb_2022.csv) that names Sputnik without citing it.
CCTV_MENTION = (
    "对俄罗斯的制裁，包括对俄关闭欧盟领空，禁止今日俄罗斯和俄罗斯卫星通讯社两家媒体在欧洲发布消息等。"
)
RU_TEXT = "Украинская делегация прибыла в Белоруссию для переговоров с российской стороной."


@pytest.fixture(scope="module")
def links() -> LinkClassifier:
    return LinkClassifier(OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml"))


def test_wire_attribution_in_a_headline_is_a_citation(links: LinkClassifier) -> None:
    assert links.classify(WIRE_HEADLINE, "Xinhua", RU_TEXT, "Sputnik", 0.5) == "citation"


def test_chinese_attribution_formula_is_a_citation(links: LinkClassifier) -> None:
    citing = "据俄罗斯卫星通讯社报道，" + CCTV_MENTION
    assert links.cites(citing, "Sputnik")
    assert links.classify(citing, "CCTV", RU_TEXT, "Sputnik", 0.4) == "citation"


def test_russian_attribution_of_a_chinese_outlet_is_a_citation(links: LinkClassifier) -> None:
    citing = "Как сообщает агентство Синьхуа, " + RU_TEXT
    assert links.classify(WIRE_HEADLINE.split(":")[0], "Xinhua", citing, "TASS", 0.4) == "citation"
    assert links.classify(WIRE_HEADLINE.split(":")[0], "CGTN", citing, "TASS", 0.4) == "echo"


def test_naming_an_outlet_without_attribution_is_not_a_citation(links: LinkClassifier) -> None:
    assert not links.cites(CCTV_MENTION, "Sputnik")
    assert not links.cites("EU to ban Russian state media RT and Sputnik: von der Leyen", "Sputnik")
    assert not links.cites("Fighting continues in Syria, officials said", "RIA Novosti")


def test_translation_with_shared_numbers_is_a_republication(links: LinkClassifier) -> None:
    en = "In Sunday's referendum, 96.6 percent of Crimeans voted in favor of reunification with Russia."
    ru = "На воскресном референдуме 96,6 процента крымчан проголосовали за воссоединение с Россией."
    assert links.classify(en, "Xinhua", ru, "TASS", 0.8) == "republication"
    assert links.classify(en, "Xinhua", ru.replace("96,6", "80"), "TASS", 0.8) == "echo"


def test_independent_write_up_is_an_echo(links: LinkClassifier) -> None:
    assert links.classify(WIRE_HEADLINE.split(":")[0], "CGTN", RU_TEXT, "TASS", 0.55) == "echo"


@pytest.mark.e2e
def test_pairs_of_a_real_run_carry_link_types(first_run_pairs: pd.DataFrame, truth: pd.DataFrame) -> None:
    translated = set(truth.loc[truth["kind"] == "translation", "id"])
    in_translations = first_run_pairs[first_run_pairs["cn_id"].isin(translated)]
    assert len(in_translations) > 0
    assert (in_translations["link_type"] == "republication").mean() >= 0.75
    assert set(first_run_pairs["link_type"]) <= {"republication", "citation", "echo"}
