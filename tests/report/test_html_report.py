from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from detector.report import writer as report
from detector.report.html import render_report, timeline_png, write_html_report

EVIL = '<script>alert("x")</script> & «Путин»'
MANIFEST = {"run_id": "run-test", "config_hash": "c" * 64, "method_hash": "m" * 16,
            "inputs": [{"path": "feed.csv", "sha256": "f" * 64}], "counts": {"flags": 1}}  # fmt: skip


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    when = pd.to_datetime(["2022-03-08T10:00Z", "2022-03-08T16:30Z", "2022-03-09T08:00Z"], utc=True)
    members = pd.DataFrame(
        {"narrative_id": "N1", "id": ["c1", "r1", "x1"], "outlet": ["CGTN", "TASS", "Reuters"],
         "bloc": ["cn", "ru", "control"], "language": ["en", "ru", "en"], "published_at": when,
         "title": [EVIL, "Биолаборатории США", "US labs"],
         "url": ["https://cgtn.example/1", "javascript:alert(1)", None],
         "similarity_to_centre": [0.91, 0.88, 0.7], "membership": [1.0, 1.0, 0.5]}
    )  # fmt: skip
    flags = pd.DataFrame(
        {"rank": [1], "narrative_id": ["N1"], "label": [EVIL], "direction": ["cn->ru"],
         "lag_hours": [6.5], "best_similarity": [0.8123], "best_pair_lag_hours": [6.5],
         "best_cn_id": ["c1"], "best_cn_outlet": ["CGTN"], "best_cn_published_at": [when[0]],
         "best_cn_title": [EVIL], "best_ru_id": ["r1"], "best_ru_outlet": ["TASS"],
         "best_ru_published_at": [when[1]], "best_ru_title": ["Биолаборатории США"],
         "n_cn": [1], "n_ru": [1], "p_value": [0.0004], "novel_metric": [0.123456789]}
    )  # fmt: skip
    return flags, members


class Links(HTMLParser):
    """Every src/href attribute, with its tag."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [(tag, name, value or "") for name, value in attrs if name in ("src", "href")]


def links_of(page: str) -> list[tuple[str, str, str]]:
    parser = Links()
    parser.feed(page)
    return parser.found


def test_text_is_escaped_and_unsafe_urls_are_not_links() -> None:
    flags, members = frames()
    page = render_report(flags, members, None, MANIFEST)
    assert EVIL not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; «Путин»" in page
    assert page.count("<script>") == 1  # the page's own sort/filter script only
    hrefs = [value for tag, name, value in links_of(page) if name == "href"]
    assert "https://cgtn.example/1" in hrefs
    assert not any(h.startswith("javascript:") for h in hrefs)


def test_page_is_self_contained() -> None:
    flags, members = frames()
    page = render_report(flags, members, None, MANIFEST, files=["flags.csv", "outlets.csv"])
    found = links_of(page)
    assert all(value.startswith("data:image/png;base64,") for _, name, value in found if name == "src")
    external = [(tag, value) for tag, _, value in found if re.match(r"(?i)[a-z]+:", value)]
    assert {tag for tag, value in external if not value.startswith("data:")} == {"a"}
    assert {value for tag, value in external if tag == "a"} == {"https://cgtn.example/1"}
    assert ("a", "href", "outlets.csv") in found


def test_best_pair_from_flags_when_no_pairs_and_scorer_pairs_when_given() -> None:
    flags, members = frames()
    page = render_report(flags, members, None, MANIFEST)
    assert '<td></td><td class="num">0.8123</td><td class="num">6.5</td>' in page
    pairs = pd.DataFrame(
        {"narrative_id": ["N1", "N1"], "cn_id": ["c1", "c1"], "cn_outlet": "CGTN",
         "cn_published_at": flags["best_cn_published_at"][0], "cn_title": ["a", "a"],
         "ru_id": ["r1", "r9"], "ru_outlet": "TASS", "ru_published_at": flags["best_ru_published_at"][0],
         "ru_title": ["b", "c"], "similarity": [0.8123, 0.7001], "lag_hours": [6.5, 7.0],
         "ru_url": ["", "https://tass.example/9"], "cn_url": ["javascript:x", "javascript:x"],
         "link_type": ["republication", "echo"]}
    )  # fmt: skip
    page = render_report(flags, members, pairs, MANIFEST)
    assert '<td>echo</td><td class="num">0.7001</td><td class="num">7</td>' in page
    assert "<code>r9</code>" in page
    hrefs = {value for _, name, value in links_of(page) if name == "href"}
    assert "https://tass.example/9" in hrefs
    assert "https://cgtn.example/1" in hrefs  # the member's url where the pair's is not linkable
    assert not any(h.startswith("javascript:") for h in hrefs)


def test_the_matching_passage_of_a_long_article_is_highlighted_in_its_context() -> None:
    flags, members = frames()
    # A real Kremlin transcript paragraph (2022-03-16) inside filler standing for the rest of it.
    paragraph = (
        "There was a network of dozens of laboratories in Ukraine, where military biological "
        "programmes were run under the guidance and with the financial support of the Pentagon."
    )
    before, after = "On the economy. " * 40, " On regional budgets & <taxes>." * 40
    text = before + paragraph + after
    members.loc[members["id"] == "r1", "text"] = text
    start, end = len(before), len(before) + len(paragraph)
    pairs = pd.DataFrame(
        {"narrative_id": ["N1"], "cn_id": ["c1"], "cn_outlet": "CGTN", "cn_title": ["a"],
         "ru_id": ["r1"], "ru_outlet": "Kremlin", "ru_title": ["Meeting"], "similarity": [0.55],
         "lag_hours": [35.0], "link_type": ["echo"], "cn_passage": [EVIL], "cn_passage_start": [0],
         "cn_passage_end": [len(EVIL)], "ru_passage": [paragraph], "ru_passage_start": [start],
         "ru_passage_end": [end]}
    )  # fmt: skip
    page = render_report(flags, members, pairs, MANIFEST)
    assert f"<mark>{paragraph}</mark>" in page
    assert f"characters {start}–{end} of {len(text)}" in page
    assert "On regional budgets &amp; &lt;taxes&gt;." in page  # context, escaped
    assert page.count("<mark>") == 1  # the cn item is short: its passage is the whole item
    shown = page[page.index("<mark>") - 400 : page.index("</mark>") + 400]
    assert shown.count("On the economy.") < 40  # only a window of context, not the whole text


def test_extra_flag_columns_are_shown_in_the_summary() -> None:
    flags, members = frames()
    page = render_report(flags, members, None, MANIFEST)
    assert "<th>p_value</th>" in page
    assert "<td>0.0004</td>" in page
    assert "<th>novel_metric</th>" in page
    assert "<td>0.123457</td>" in page


def test_output_is_deterministic_and_png_has_no_software_chunk() -> None:
    flags, members = frames()
    assert render_report(flags, members, None, MANIFEST) == render_report(flags, members, None, MANIFEST)
    png = timeline_png(members, ("c1", "r1"))
    assert png.startswith(b"\x89PNG")
    assert b"matplotlib" not in png.lower()
    page = render_report(flags, members, None, MANIFEST)
    assert base64.b64encode(png).decode() in page


def test_no_flags_renders_a_page_that_says_so() -> None:
    page = render_report(pd.DataFrame(), pd.DataFrame(), None, MANIFEST)
    assert "No narrative was flagged" in page
    assert page.endswith("</html>\n")


def test_optional_files_are_linked_only_when_present(tmp_path: Path) -> None:
    flags, members = frames()
    write_html_report(tmp_path, flags, members, None, MANIFEST)
    assert 'href="outlets.graphml"' not in (tmp_path / "report.html").read_text(encoding="utf-8")
    (tmp_path / "outlets.graphml").write_text("<graphml/>")
    write_html_report(tmp_path, flags, members, None, MANIFEST)
    assert 'href="outlets.graphml"' in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_write_reports_writes_the_page_and_pairs_before_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags, members = frames()
    pairs = pd.DataFrame({"narrative_id": ["N1"], "cn_id": ["c1"], "ru_id": ["r1"], "extra": [1]})
    present_at_manifest: list[list[str]] = []
    write_json = report.write_json

    def spy(data: dict[str, Any], path: Path) -> None:
        present_at_manifest.append(sorted(p.name for p in tmp_path.iterdir()))
        write_json(data, path)

    monkeypatch.setattr(report, "write_json", spy)
    paths = report.write_reports(tmp_path, flags, members, MANIFEST, pairs=pairs)
    assert present_at_manifest == [["flags.csv", "flags.parquet", "members.csv", "members.parquet",
                                    "pairs.csv", "pairs.parquet", "report.html"]]  # fmt: skip
    assert list(paths) == [
        "flags", "flags_parquet", "members", "members_parquet", "pairs", "pairs_parquet", "report", "manifest"
    ]  # fmt: skip
    header = (tmp_path / "pairs.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.split(",") == report.PAIR_COLUMNS


def test_only_the_pages_own_script_and_style_are_allowed_by_hash() -> None:
    flags, members = frames()
    page = render_report(flags, members, None, MANIFEST)
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert policy is not None
    assert page.index(policy.group(0)) < page.index("<style>")
    directives = dict(d.split(" ", 1) for d in policy.group(1).split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["img-src"] == "data:"
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        (body,) = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.S)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert directives[directive] == f"'sha256-{digest}'"


def test_bidi_overrides_are_shown_and_dollars_do_not_start_matplotlib_math() -> None:
    flags, members = frames()
    members.loc[0, "outlet"] = "$\\evil$ \u202egnp.exe"
    members.loc[1, "title"] = "\u2067isolate\u2069 and \u200fmark"
    page = render_report(flags, members, None, MANIFEST)  # the timeline draws "$\evil$" as text
    assert "\u202e" not in page
    assert "\u2067" not in page
    assert "$\\evil$ ⟦U+202E⟧gnp.exe" in page
    assert "⟦U+2067⟧isolate⟦U+2069⟧ and \u200fmark" in page  # an implicit mark (RLM) stays
