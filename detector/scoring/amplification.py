"""Outlet amplification graph: who carries a shared narrative first, how often, with what lag.

For every flagged narrative, each outlet's first appearance is taken; for every ordered pair of
outlets (earlier -> later) an edge gets one count and the lag. Written as ``outlets.csv`` (one row
per directed edge) and ``outlets.graphml`` (Gephi, yEd, networkx).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import networkx as nx
import pandas as pd

from detector.io import atomic_writer
from detector.times import HOUR

EDGE_COLUMNS = [
    "source_outlet", "source_bloc", "source_channel_type", "target_outlet", "target_bloc",
    "target_channel_type", "narratives", "cross_bloc", "median_lag_hours", "republications", "citations",
    "echoes", "example_narrative_id",
]  # fmt: skip


def outlet_edges(members: pd.DataFrame, pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Directed outlet -> outlet edges over the narratives in ``members`` (flagged ones), with
    the link types of the evidence ``pairs`` between the two outlets (earlier -> later)."""
    records = []
    if members.empty:
        return pd.DataFrame(columns=EDGE_COLUMNS)
    for nid, group in members.groupby("narrative_id", sort=True):
        first = group.groupby(["outlet", "bloc"], sort=True)["published_at"].min().reset_index()
        first = first.sort_values(["published_at", "outlet"], kind="stable")
        for (_, a), (_, b) in combinations(first.iterrows(), 2):
            records.append(
                {
                    "source_outlet": a["outlet"], "source_bloc": a["bloc"],
                    "target_outlet": b["outlet"], "target_bloc": b["bloc"],
                    "lag": (b["published_at"] - a["published_at"]).total_seconds() / HOUR,
                    "narrative_id": nid,
                }
            )  # fmt: skip
    frame = pd.DataFrame(records)
    keys = ["source_outlet", "source_bloc", "target_outlet", "target_bloc"]
    edges = frame.groupby(keys, sort=True).agg(
        narratives=("narrative_id", "nunique"),
        median_lag_hours=("lag", "median"),
        example_narrative_id=("narrative_id", "first"),
    )
    edges = edges.reset_index()
    edges["cross_bloc"] = edges["source_bloc"] != edges["target_bloc"]
    counts = link_counts(pairs)
    key = list(zip(edges["source_outlet"], edges["target_outlet"], strict=True))
    for column, link in (("republications", "republication"), ("citations", "citation"), ("echoes", "echo")):
        edges[column] = [counts.get((a, b, link), 0) for a, b in key]
    edges["median_lag_hours"] = edges["median_lag_hours"].round(2)
    if "channel_type" in members:  # from the registry (detector/report/channels.py)
        channel = members.drop_duplicates("outlet").set_index("outlet")["channel_type"]
        edges["source_channel_type"] = edges["source_outlet"].map(channel)
        edges["target_channel_type"] = edges["target_outlet"].map(channel)
    edges = edges.sort_values(["narratives", *keys], ascending=[False, True, True, True, True])
    return edges.reindex(columns=EDGE_COLUMNS).reset_index(drop=True)


def link_counts(pairs: pd.DataFrame | None) -> dict[tuple[str, str, str], int]:
    """``(earlier outlet, later outlet, link type) -> count`` over evidence pairs."""
    if pairs is None or pairs.empty or "link_type" not in pairs:
        return {}
    cn_first = pairs["lag_hours"] >= 0
    source = pairs["cn_outlet"].where(cn_first, pairs["ru_outlet"])
    target = pairs["ru_outlet"].where(cn_first, pairs["cn_outlet"])
    counted = pd.DataFrame({"s": source, "t": target, "l": pairs["link_type"]}).value_counts()
    return {(str(s), str(t), str(link)): int(n) for (s, t, link), n in counted.items()}


def write_graphml(edges: pd.DataFrame, path: Path) -> None:
    graph = nx.DiGraph()
    for row in edges.reindex(columns=EDGE_COLUMNS).itertuples(index=False):
        graph.add_node(row.source_outlet, bloc=row.source_bloc, channel_type=_text(row.source_channel_type))
        graph.add_node(row.target_outlet, bloc=row.target_bloc, channel_type=_text(row.target_channel_type))
        graph.add_edge(
            row.source_outlet, row.target_outlet, narratives=int(row.narratives),
            cross_bloc=bool(row.cross_bloc), median_lag_hours=float(row.median_lag_hours),
            republications=int(row.republications), citations=int(row.citations), echoes=int(row.echoes),
        )  # fmt: skip
    with atomic_writer(path, "wb") as handle:
        nx.write_graphml(graph, handle)


def _text(value: object) -> str:
    """A GraphML attribute value: missing values (older stored runs) become ""."""
    return value if isinstance(value, str) else ""
