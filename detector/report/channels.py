"""Channel types in the reports: which kinds of channel (state media, diplomats, aggregators,
proxies) and which languages a flagged narrative reached, in what order; the ``--channel-type``
filter of ``detector report``; and the per-channel-type summary ``report.html`` shows.

Channel types come from the outlet registry (``configs/outlets.toml``); an outlet it does not
list is ``unknown``. Orders are of first appearance: the members sorted by publication time (then
feed id), each channel type or language listed once, where it first occurs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from detector.errors import InputError
from detector.scoring.amplification import outlet_edges
from detector.sources.registry import CHANNEL_TYPES, UNKNOWN_CHANNEL, OutletRegistry

ARROW = " -> "


def first_appearances(values: Iterable[object]) -> str:
    """Distinct values in order of first appearance, joined by `` -> ``."""
    return ARROW.join(dict.fromkeys(str(v) for v in values))


def reach(members: pd.DataFrame) -> pd.DataFrame:
    """Per narrative (index): ``channel_path`` ("state_media -> diplomatic") and
    ``language_path`` ("ru -> en -> zh"), from members with a ``channel_type`` column."""
    ordered = members.sort_values(["narrative_id", "published_at", "id"], kind="stable")
    grouped = ordered.groupby("narrative_id", sort=True)
    return pd.DataFrame(
        {
            "channel_path": grouped["channel_type"].agg(first_appearances),
            "language_path": grouped["language"].agg(first_appearances),
        }
    )


def add_channels(
    flags: pd.DataFrame, members: pd.DataFrame, pairs: pd.DataFrame, registry: OutletRegistry
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The report frames with channel types: ``channel_type`` per member, ``cn_channel_type`` and
    ``ru_channel_type`` per evidence pair, ``channel_path`` and ``language_path`` per flag."""
    members = members.assign(channel_type=members["outlet"].map(registry.channel_type))
    if not pairs.empty:
        pairs = pairs.assign(
            cn_channel_type=pairs["cn_outlet"].map(registry.channel_type),
            ru_channel_type=pairs["ru_outlet"].map(registry.channel_type),
        )
    paths = reach(members)
    flags = flags.assign(
        channel_path=flags["narrative_id"].map(paths["channel_path"]),
        language_path=flags["narrative_id"].map(paths["language_path"]),
    )
    return flags, members, pairs


def channels_of(path: object) -> list[str]:
    """The channel types listed in a ``channel_path`` cell."""
    return [] if not isinstance(path, str) or not path else path.split(ARROW)


def filter_frames(frames: dict[str, pd.DataFrame], channel_types: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The report frames restricted to the narratives that reached any of ``channel_types``.

    Flags keep their rank (so a filtered report still says where each narrative stood in the
    run); members and evidence pairs of the kept narratives are kept whole; the outlet graph is
    rebuilt over them.
    """
    flags = frames["flags"]
    if "channel_path" not in flags:
        raise InputError(
            "--channel-type", "this run's stored reports have no channel types (an older version ran it)",
            "run `detector run` on its input again, then filter that run",
        )  # fmt: skip
    wanted = set(channel_types)
    keep = flags["channel_path"].map(lambda p: bool(wanted & set(channels_of(p))))
    kept = set(flags.loc[keep, "narrative_id"])
    rebuilt = ("flags", "members", "pairs", "outlets")
    out = {name: frame for name, frame in frames.items() if name not in rebuilt}
    out["flags"] = flags[keep].reset_index(drop=True)
    out["members"] = frames["members"][frames["members"]["narrative_id"].isin(kept)].reset_index(drop=True)
    pairs = frames.get("pairs")
    if pairs is not None:
        out["pairs"] = pairs[pairs["narrative_id"].isin(kept)].reset_index(drop=True) if len(pairs) else pairs
    if "outlets" in frames:
        out["outlets"] = outlet_edges(out["members"], out.get("pairs"))
    return out


def channel_summary(flags: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Per channel type that flagged narratives reached (registry order): ``reached`` (how many
    narratives), ``started`` (how many of them first appeared there) and its ``outlets``."""
    columns = ["channel_type", "reached", "started", "outlets"]
    if "channel_path" not in flags or flags.empty:
        return pd.DataFrame(columns=columns)
    paths = flags["channel_path"].map(channels_of)
    present = [c for c in (*CHANNEL_TYPES, UNKNOWN_CHANNEL) if paths.map(lambda p, c=c: c in p).any()]
    outlets = (
        members.groupby("channel_type")["outlet"].agg(lambda s: ", ".join(sorted(set(s))))
        if "channel_type" in members
        else pd.Series(dtype=str)
    )
    rows = [
        {
            "channel_type": channel,
            "reached": int(paths.map(lambda p, c=channel: c in p).sum()),
            "started": int(paths.map(lambda p, c=channel: bool(p) and p[0] == c).sum()),
            "outlets": str(outlets.get(channel, "")),
        }
        for channel in present
    ]
    return pd.DataFrame(rows, columns=columns)
