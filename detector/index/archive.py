"""The archive index: a persisted approximate index over every stored passage, beside the store.

``detector search`` and ``detector track`` over a long period cannot load a year of passage
vectors (a million articles are about 1.3 million passages, 2.7 GB of float32). They ask this
index for candidates and re-score those exactly from the store's vectors.

What it holds: the units of :mod:`detector.store.units` (numbered passages of one splitter
configuration), as a FAISS index keyed by ``unit_id``:

- up to ``exact_max`` units: ``IndexIDMap2(IndexFlatIP)``, exact;
- above: ``IndexIVFPQ`` (``sqrt(N)`` cells, ``pq_bytes`` bytes a vector: 64 B instead of 2 KiB,
  so 1.3 M units take ~100 MB). HNSW was not chosen: its graph keeps the float vectors (the
  2.7 GB the index is meant to avoid), it builds ~250 s per million here, and an id filter (a
  ``--since/--until`` scope) cuts its graph. DuckDB's ``vss`` extension is HNSW too, kept in
  memory, and extensions are not loaded by the store (no download at run time).

The file, ``<store>.archive``: a magic line, the manifest's length, the manifest (JSON: store id,
model, split, kind, how many units it covers, the largest id covered, a digest of those units,
when it was trained, the payload's length and sha256), then the FAISS payload. It is written to a
temporary file, fsynced and renamed over the old one, so a kill leaves the old index or the new.
On opening, a missing, truncated or corrupted file (payload checksum), one made for another store,
model or split, or one whose units no longer match the store's (digest), is rebuilt; units added
since (ids above the largest covered) are added; units the store dropped are removed. A search is
therefore never answered from an index that disagrees with the store.

Training is reproducible from the store alone: the sample is the seeded-hash sample of the units
up to the id recorded in ``store_meta`` when the index was first trained, so a rebuild after a
fault trains the same cells and codebooks and adds the units in id order: the same index.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
from pathlib import Path
from typing import Any, ClassVar

import faiss
import numpy as np

from detector.embed.embedding import text_hash
from detector.embed.passages import PassageStage
from detector.faults import checkpoint
from detector.index.core import set_threads
from detector.params import Constraint, Interval, validate_params
from detector.store import units as unit_table
from detector.store.store import Store

log = logging.getLogger(__name__)

MAGIC = b"DETECTOR-ARCHIVE 1\n"
FORMAT = 1
REGISTER_BATCH = 20_000  # articles split and registered per transaction


def archive_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".archive")


def split_key(stage: PassageStage) -> str:
    """What a unit is: the splitter settings, the whole-passage length and the model."""
    settings = [stage.max_chars, stage.min_chars, stage.window_sentences, stage.overlap_sentences,
                stage.max_passages, stage.embedding.max_chars, stage.embedding.model_id]  # fmt: skip
    return hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:16]


def register_units(db: Store, stage: PassageStage) -> int:
    """Split every stored article that has no units for ``stage``'s split (new or edited ones),
    embed the passages the cache lacks, and record them as units; returns how many were added.
    A store whose articles and units are as the last complete registration left them is not
    searched again (a killed registration records nothing, so the next one searches)."""
    split, added, after = split_key(stage), 0, None
    key, state = f"units_registered:{split}", unit_table.registration_state(db, split)
    if unit_table.meta(db, key) == state:
        return 0
    while True:
        articles = unit_table.articles_without_units(db, split, REGISTER_BATCH, after)
        if not articles.empty:
            last = articles.iloc[-1]
            after = (last["published_at"].tz_convert(None).to_pydatetime(), str(last["id"]))
            passages = stage.passages(articles)
            texts = passages["text"].tolist()
            stage.embedding.ensure_cached(db, texts)
            added += unit_table.replace_units(db, split, articles, passages, [text_hash(t) for t in texts])
            log.info("archive: %d units registered so far", added)
        if len(articles) < REGISTER_BATCH:  # a short batch is the last: no second anti-join
            unit_table.set_meta(db, key, unit_table.registration_state(db, split))
            return added


class ArchiveError(Exception):
    """The index file cannot be used (the message says why); it is rebuilt."""


class ArchiveMissingError(ArchiveError):
    """No index file: a store's first run builds it, which is no cause for a warning."""


class ArchiveIndex:
    """The persisted index of one store's units (see the module doc).

    Parameters
    ----------
    exact_max : up to this many units the index is exact (flat); above, IVF-PQ.
    pq_bytes : bytes of an IVF-PQ code (sub-quantisers of 8 bits); must divide the dimension.
    nprobe : IVF cells a query scans (scaled up when a scope filter keeps a fraction of the units).
    retrain_growth : retrain when the units have grown this many times since the last training.
    threads : FAISS OpenMP threads.
    seed : seeds the training sample and k-means.
    """

    parameter_section: ClassVar[str] = "archive"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "exact_max": Interval(0, 2**40),
        "pq_bytes": Interval(1, 4096),
        "nprobe": Interval(1, 65_536),
        "retrain_growth": Interval(1.0, 1e6),
        "threads": Interval(1, 256),
        "seed": Interval(0, 2**31 - 1),
    }

    def __init__(
        self,
        exact_max: int = 100_000,
        pq_bytes: int = 64,
        nprobe: int = 32,
        retrain_growth: float = 4.0,
        threads: int = 2,
        seed: int = 0,
    ) -> None:
        self.exact_max = exact_max
        self.pq_bytes = pq_bytes
        self.nprobe = nprobe
        self.retrain_growth = retrain_growth
        self.threads = threads
        self.seed = seed
        validate_params(self)

    # ---- keeping it in step with the store ----------------------------------------------------
    def sync(self, db: Store, stage: PassageStage) -> ArchiveIndex:
        """Register the store's new units, then load the index file and bring it up to date (or
        rebuild it, saying why), and write it back if it changed."""
        set_threads(self.threads)
        register_units(db, stage)
        self.path_ = archive_path(db.path)
        self.split_, self.model_id_ = split_key(stage), stage.embedding.model_id
        self.store_id_ = unit_table.store_id(db)
        for stale in self.path_.parent.glob(self.path_.name + ".tmp*"):  # a killed write's leftovers
            stale.unlink(missing_ok=True)
        changed = True
        try:
            manifest, index = self._read()
            self.manifest_ = manifest
            changed = self._reconcile(db, manifest, index)
        except ArchiveMissingError:
            log.info("archive index %s: none yet; building it", self.path_)
            self._build(db)
        except ArchiveError as why:
            log.warning("archive index %s: %s; rebuilding it", self.path_, why)
            self._build(db)
        if changed:
            self._write()
        return self

    def _read(self) -> tuple[dict[str, Any], Any]:
        if not self.path_.is_file():
            raise ArchiveMissingError("missing")
        blob = self.path_.read_bytes()
        if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 8:
            raise ArchiveError("not an archive index file (bad header)")
        size = int.from_bytes(blob[len(MAGIC) : len(MAGIC) + 8], "little")
        body = len(MAGIC) + 8 + size
        try:
            manifest: dict[str, Any] = json.loads(blob[len(MAGIC) + 8 : body])
        except (UnicodeDecodeError, ValueError):
            raise ArchiveError("its manifest is unreadable (truncated or corrupted)") from None
        payload = memoryview(blob)[body:]  # a view: the payload is most of the file
        if len(payload) != manifest.get("payload_bytes"):
            raise ArchiveError(f"truncated ({len(payload)} of {manifest.get('payload_bytes')} payload bytes)")
        if hashlib.sha256(payload).hexdigest() != manifest.get("payload_sha256"):
            raise ArchiveError("corrupted (payload checksum differs)")
        expected = {
            "format": FORMAT,
            "store_id": self.store_id_,
            "model_id": self.model_id_,
            "split": self.split_,
        }
        for key, value in expected.items():
            if manifest.get(key) != value:
                raise ArchiveError(f"made for another {key} ({manifest.get(key)!r}, not {value!r})")
        # Read through a callback: deserialize_index first copies the payload into a FAISS vector
        # (at a million articles 0.6 s against 0.3 s).
        reader = faiss.PyCallbackIOReader(io.BytesIO(payload).read, 1 << 24)  # type: ignore[attr-defined]
        index = faiss.read_index(reader)
        if int(index.ntotal) != manifest["vectors"]:
            raise ArchiveError("its payload and manifest disagree on the number of vectors")
        return manifest, index

    def _reconcile(self, db: Store, manifest: dict[str, Any], index: Any) -> bool:
        """Adopt a valid index: drop units the store dropped, add new ones, retrain if it grew
        past its training; returns whether it changed."""
        self.index_, self.kind_ = index, str(manifest["kind"])
        self.upto_, self.trained_ = int(manifest["max_unit_id"]), int(manifest["trained_vectors"])
        if int(index.ntotal) == 0:  # an empty store's index knows no dimension yet: start again
            self._build(db)
            return bool(self.index_.ntotal)
        count, digest = unit_table.unit_state(db, self.split_, self.upto_)
        changed = False
        if (count, digest) != (manifest["vectors"], int(manifest["digest"])):
            self._drop_removed(db)
            changed = True
        # How many units there will be, before adding them: a grown index is rebuilt, not extended.
        last = unit_table.next_unit_id(db) - 1
        total = count if last == self.upto_ else unit_table.unit_state(db, self.split_, last)[0]
        grown = self.kind_ == "flat" and total > self.exact_max
        grown |= self.kind_ == "ivfpq" and total > self.retrain_growth * self.trained_
        if grown:
            log.info(
                "archive index %s: %d units, trained on %d; retraining", self.path_, total, self.trained_
            )
            unit_table.set_meta(db, self._trained_key, str(unit_table.next_unit_id(db) - 1))
            self._build(db)
            return True
        return self._add_from(db, self.upto_ + 1) > 0 or changed

    def _drop_removed(self, db: Store) -> None:
        """Remove the ids the store no longer has; an index holding ids the store never had, or
        pointing at other rows, is not this store's (rebuilt)."""
        held = self._held_ids()
        live = unit_table.live_ids(db, self.split_, self.upto_)
        if not np.isin(live, held).all():
            raise ArchiveError("it lacks units the store has below its last id")
        gone = np.setdiff1d(held, live)
        self.index_.remove_ids(faiss.IDSelectorBatch(gone))
        count, digest = unit_table.unit_state(db, self.split_, self.upto_)
        if int(self.index_.ntotal) != count or not np.array_equal(np.sort(self._held_ids()), live):
            raise ArchiveError("its units differ from the store's")
        log.info("archive index %s: removed %d units the store dropped", self.path_, len(gone))
        self.digest_ = digest

    def _held_ids(self) -> np.ndarray:
        if self.kind_ == "flat":
            return np.asarray(faiss.vector_to_array(self.index_.id_map), dtype=np.int64)
        invlists = faiss.extract_index_ivf(self.index_).invlists
        assert invlists is not None  # an IVF index always has its lists
        parts = [
            faiss.rev_swig_ptr(invlists.get_ids(c), invlists.list_size(c)).copy()
            for c in range(invlists.nlist)
            if invlists.list_size(c)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    @property
    def _trained_key(self) -> str:
        return f"archive_trained:{self.split_}"

    def _build(self, db: Store) -> None:
        """A new index of every unit: flat up to ``exact_max``, else IVF-PQ trained on the sample
        the store records (see the module doc)."""
        last = unit_table.next_unit_id(db) - 1
        total = unit_table.unit_state(db, self.split_, last)[0]
        self.upto_, self.trained_ = -1, total
        d = self._dimension(db, last)
        if total <= self.exact_max or d == 0:
            self.kind_, self.index_ = "flat", faiss.IndexIDMap2(faiss.IndexFlatIP(max(d, 1)))
        else:
            recorded = unit_table.meta(db, self._trained_key)
            upto = int(recorded) if recorded is not None and int(recorded) <= last else last
            if recorded is None or int(recorded) > last:
                unit_table.set_meta(db, self._trained_key, str(upto))
            self.trained_ = unit_table.unit_state(db, self.split_, upto)[0]
            self.kind_, self.index_ = "ivfpq", self._trained_ivfpq(db, upto, d)
        self._add_from(db, 0)

    def _dimension(self, db: Store, last: int) -> int:
        _, first = unit_table.unit_vectors(db, self.model_id_, self.split_, 0, last + 1, 1)
        return int(first.shape[1]) if len(first) else 0

    def _trained_ivfpq(self, db: Store, upto: int, d: int) -> Any:
        n = unit_table.unit_state(db, self.split_, upto)[0]
        nlist = max(1, min(int(math.sqrt(n)), n // 39))
        sample = unit_table.sample_upto(
            db, self.model_id_, self.split_, upto, max(40 * nlist, 20_000), self.seed
        )
        m = self.pq_bytes if d % self.pq_bytes == 0 else math.gcd(d, self.pq_bytes)
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(d), d, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = self.seed
        index.cp.niter = 10  # as in detector.index.core: k-means dominates the build on 2 cores
        index.pq.cp.seed = self.seed
        log.info(
            "archive index: training IVF-PQ (%d cells, %d B codes) on %d of %d units",
            nlist,
            m,
            len(sample),
            n,
        )
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        return index

    def _add_from(self, db: Store, lo: int, batch: int = 50_000) -> int:
        """Add the units with ``lo <= unit_id`` in id order; returns how many."""
        added, hi = 0, unit_table.next_unit_id(db)
        while True:
            ids, vectors = unit_table.unit_vectors(db, self.model_id_, self.split_, lo, hi, batch)
            if not len(ids):
                break
            self.index_.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
            added += len(ids)
            self.upto_ = max(self.upto_, int(ids[-1]))
            lo = int(ids[-1]) + 1
        self.upto_ = max(self.upto_, hi - 1)
        self.digest_ = unit_table.unit_state(db, self.split_, self.upto_)[1]
        if added:
            log.info("archive index %s: added %d units (%d in all)", self.path_, added, self.index_.ntotal)
        return added

    def _write(self) -> None:
        payload = faiss.serialize_index(self.index_).tobytes()
        manifest = {
            "format": FORMAT, "store_id": self.store_id_, "model_id": self.model_id_, "split": self.split_,
            "kind": self.kind_, "vectors": int(self.index_.ntotal), "max_unit_id": self.upto_,
            "digest": str(self.digest_), "trained_vectors": self.trained_,
            "payload_bytes": len(payload), "payload_sha256": hashlib.sha256(payload).hexdigest(),
        }  # fmt: skip
        head = json.dumps(manifest, sort_keys=True).encode()
        temp = self.path_.with_name(f"{self.path_.name}.tmp{os.getpid()}")
        with open(temp, "wb") as handle:
            handle.write(MAGIC + len(head).to_bytes(8, "little") + head)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        checkpoint("archive_written")
        os.replace(temp, self.path_)
        directory = os.open(self.path_.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)
        self.manifest_ = manifest

    # ---- searching ----------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int, subset: np.ndarray | None = None) -> np.ndarray:
        """Candidate unit ids (``(queries, k)``, -1 where fewer) by approximate inner product,
        optionally only among the unit ids ``subset``."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if self.index_.ntotal == 0 or k <= 0:
            return np.full((len(q), max(k, 0)), -1, dtype=np.int64)
        set_threads(self.threads)
        sel = None if subset is None else faiss.IDSelectorBatch(np.ascontiguousarray(subset, dtype=np.int64))
        params: Any = None
        if self.kind_ == "ivfpq":
            share = 1.0 if subset is None else max(len(subset) / max(int(self.index_.ntotal), 1), 1e-6)
            nlist = int(faiss.extract_index_ivf(self.index_).nlist)
            nprobe = min(nlist, math.ceil(self.nprobe / share))
            params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)  # type: ignore[call-arg]
        elif sel is not None:
            params = faiss.SearchParameters(sel=sel)  # type: ignore[call-arg]
        _, ids = self.index_.search(q, min(k, int(self.index_.ntotal)), params=params)
        return np.asarray(ids, dtype=np.int64)
