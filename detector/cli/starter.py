"""``detector init`` (editable copies of the packaged config, registry and watchlist) and
``detector --version`` (the software a run would use)."""

from __future__ import annotations

import importlib.metadata
import platform
from pathlib import Path

import click

from detector.cli.options import domain_errors, load_cli_config

DISTRIBUTION = "narrative-sync-detector"


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: the package, the embedding backend and model id the config in effect names
    (``configs/default.toml`` here, else the packaged one), DuckDB and FAISS."""
    if not value or ctx.resilient_parsing:
        return
    import detector
    from detector.embed.embedding import EmbeddingStage

    config = load_cli_config(None)
    embedding = EmbeddingStage(**config.arguments("embed"))
    where = "packaged" if config.source.packaged else config.source.path
    click.echo(f"detector {detector.__version__} ({DISTRIBUTION} {_version(DISTRIBUTION)}, "
               f"{Path(detector.__file__).parent})")  # fmt: skip
    click.echo(f"model: backend {embedding.backend}, {embedding.model_id} (config: {where})")
    click.echo(f"duckdb {_version('duckdb')}, faiss-cpu {_version('faiss-cpu')}, "
               f"python {platform.python_version()}")  # fmt: skip
    ctx.exit()


version_option = click.option(
    "--version", is_flag=True, expose_value=False, is_eager=True, callback=domain_errors(print_version),
    help="Show the package, model backend and id, DuckDB and FAISS versions, and exit.",
)  # fmt: skip


@click.command("init")
@click.argument("folder", default="configs", type=click.Path(dir_okay=True, file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite files that already exist there.")
@click.option("--sample", is_flag=True, help="Also write sample_feed_2024.csv, a real feed to try it on.")
@domain_errors
def init_command(folder: str, force: bool, sample: bool) -> None:
    """Write editable copies of the packaged default.toml, outlets.toml and watchlist.toml into
    FOLDER (default: configs, which every command reads when it exists). Never overwrites a file
    without --force."""
    from detector.resources import CONFIG, REGISTRY, SAMPLE, WATCHLIST, write_starter

    target = Path(folder)
    written = write_starter(target, force=force, sample=sample)
    click.echo(f"wrote {', '.join(str(p) for p in written)}")
    config = target / CONFIG
    use = "" if target == Path("configs") else f" --config {config}"
    click.echo(
        f"Edit first: {target / REGISTRY} (your outlets: name -> bloc, languages, channel type; it extends "
        f"the packaged registry), then {target / WATCHLIST} (the narratives `detector track` follows; set "
        f'[watch] watchlist = "{WATCHLIST}" in {config} for the daily run to track them).'
    )
    feed = target / SAMPLE if sample else Path("FEED.csv")
    click.echo(f"Then: detector run{use} --input {feed} --out out")
