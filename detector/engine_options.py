"""The parameters of ``[engine]``: which engine runs the stages and the Ray engine's options.

A leaf so that :mod:`detector.config` can derive the section from them without importing the
pipeline above it; :class:`detector.pipeline.ray_engine.RayEngine` takes its constructor from
:class:`RayOptions`, and :func:`detector.pipeline.engine.make_engine` checks ``kind`` here.
"""

from __future__ import annotations

from typing import ClassVar

from detector.params import Constraint, Interval, OneOf, validate_params

ENGINE_CONSTRAINTS: dict[str, Constraint] = {"kind": OneOf(("local", "ray"))}


class RayOptions:
    """The Ray engine's options.

    Parameters
    ----------
    address : cluster to join (``"auto"``: the one ``ray start --head`` runs on this machine;
        ``"host:6379"``); ``""`` uses the ``RAY_ADDRESS`` environment variable if set, else the
        Ray instance this process already started, else starts a private one on this machine.
    cpus : CPUs of a private instance (0 = every core).
    workers : embedding actors; each loads the model once and takes ``[embed] threads`` CPUs
        (0 = as many as the cluster's CPUs allow).
    object_store_mb : object store of a private instance in MiB (0 = Ray's default, 30 % of RAM).
    shard_dir : folder for embedding shards (``""`` = ``<store>.shards`` beside the store).
    shard_texts : texts per embedding shard, in whole ``[embed] batch_size`` batches: what a
        killed backfill can lose (vectors do not depend on it).
    """

    parameter_section: ClassVar[str] = "engine"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "cpus": Interval(0, 1_000_000),
        "workers": Interval(0, 1_000_000),
        "object_store_mb": Interval(0, 2**30),
        "shard_texts": Interval(1, 2**31 - 1),
    }

    def __init__(
        self,
        address: str = "",
        cpus: int = 0,
        workers: int = 0,
        object_store_mb: int = 0,
        shard_dir: str = "",
        shard_texts: int = 1024,
    ) -> None:
        self.address = address
        self.cpus = cpus
        self.workers = workers
        self.object_store_mb = object_store_mb
        self.shard_dir = shard_dir
        self.shard_texts = shard_texts
        validate_params(self)
