"""Anonymized demand counters: per tumbling window, condition, tier and country, how many searches were
intercepted and by how many distinct people; per window and country, how many searches in all.

How it flows:
1. The decision loop folds each batch into partial cells (`CellBatch`): counts, and for intercepted searches
   a HyperLogLog sketch of keyed hashes of the user ids (HMAC-SHA256 with a key that never leaves the
   workers). No user id, search id or query goes further than this module. It holds them for a quarter
   second (`CellBatch.absorb`), so a cell gets one update then, not one per batch.
2. Partial cells go to the internal topic `<app id>-counter-updates`, each on the partition its cell key
   hashes to, so one worker owns a cell; the counters' merge (streams/counter_merge.py, run by
   streams/counter_merge_loop.py) merges them, its state in the changelog `<app id>-counter-cells`, written in
   one transaction with its offsets and what it publishes, so a restarted worker carries on exactly.
3. Every second the owner of each partition sends it a tick; on a tick it closes the windows whose end plus
   the grace period (and the merge's in-flight margin) has passed by the tick's timestamp: cells with at least
   k distinct people are published to the counters topic (keyed by window, condition and country, for
   compaction); the others are withheld and counted in a metric. A closed window's cells are replaced by a
   marker, so a late update cannot reopen them.

Each cell counts its searches by the lexicon version that decided them (a batch is decided wholly by one
version): a published cell names the version of its window, and all of them, with their counts, when a new
version went live within the window.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from datasketch import HyperLogLog

if TYPE_CHECKING:
    from streams.core.decide import Decision
    from streams.core.events import SearchEvent

HLL_PRECISION = 12  # 4,096 registers: ~1.6% standard error, exact-looking (linear counting) for small counts
ALL = "*"  # the condition and tier of a denominator cell: all searches


def user_hash_key(env_value: str | None, data_dir: Path) -> bytes:
    """The HMAC key for user ids: SIGNPOST_USER_HASH_KEY (shared by all workers of a deployment), else one
    generated once and kept in the data folder. It is never logged or published."""
    if env_value:
        return env_value.encode()
    path = data_dir / "user-hash.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()


def cell_key(window_start_ms: int, condition: str, tier: str, country: str) -> bytes:
    return f"{window_start_ms}|{condition}|{tier}|{country}".encode()


def parse_key(key: bytes) -> tuple[int, str, str, str]:
    start, condition, tier, country = key.decode().split("|")
    return int(start), condition, tier, country


def published_key(record: dict[str, Any]) -> bytes:
    """The compacted counters topic's key: one record per window, condition and country."""
    return f"{record['window_start_ms']}|{record['condition'] or 'all'}|{record['country']}".encode()


def partition_for(key: bytes, partitions: int) -> int:
    return zlib.crc32(key) % partitions


def new_sketch() -> HyperLogLog:
    return HyperLogLog(p=HLL_PRECISION)


SPARSE = "s:"  # prefix of the sparse form


def sketch_to_text(sketch: HyperLogLog) -> str:
    """The registers as base64: sparse (the non-zero registers' indexes as uint16, then their values) while
    that is smaller, as for the few people of a quarter second's cell (a few bytes instead of 5.4 KB); dense
    (all 4,096 registers) past that."""
    registers = sketch.reg.astype(np.uint8)
    (nonzero,) = np.nonzero(registers)
    if len(nonzero) * 3 < len(registers):
        packed = nonzero.astype("<u2").tobytes() + registers[nonzero].tobytes()
        return SPARSE + base64.b64encode(packed).decode()
    return base64.b64encode(registers.tobytes()).decode()


def sketch_from_text(text: str) -> HyperLogLog:
    if text.startswith(SPARSE):
        packed = base64.b64decode(text[len(SPARSE):])
        n = len(packed) // 3
        registers = np.zeros(1 << HLL_PRECISION, dtype=np.int8)
        registers[np.frombuffer(packed[:2 * n], dtype="<u2")] = np.frombuffer(packed[2 * n:], dtype=np.uint8)
    else:
        registers = np.frombuffer(base64.b64decode(text), dtype=np.uint8).astype(np.int8)
    return HyperLogLog(p=HLL_PRECISION, reg=registers)


@dataclass
class CellBatch:
    """One batch's partial cells."""

    searches: Counter[bytes] = field(default_factory=Counter)
    sketches: dict[bytes, HyperLogLog] = field(default_factory=dict)
    late: int = 0
    versions: dict[bytes, Counter[str]] = field(default_factory=dict)  # per cell: searches by lexicon version

    def absorb(self, other: CellBatch) -> None:
        """Adds another batch's partial cells to these."""
        self.searches.update(other.searches)
        for key, sketch in other.sketches.items():
            mine = self.sketches.get(key)
            if mine is None:
                self.sketches[key] = sketch
            else:
                mine.merge(sketch)
        self.late += other.late
        for key, by_version in other.versions.items():
            self.versions.setdefault(key, Counter()).update(by_version)


class Counting:
    def __init__(self, window_s: int, grace_s: int, k: int, hash_key: bytes, partitions: int,
                 epsilon: float | None = None) -> None:
        self.window_ms = window_s * 1000
        self.grace_ms = grace_s * 1000
        self.k = k
        self._key = hash_key
        self.partitions = partitions
        self.epsilon = epsilon
        self._mechanism: Any = None

    def fold(self, decided: Sequence[tuple[SearchEvent, Decision]], now_ms: int) -> CellBatch:
        """Partial cells of one batch of (event, decision) pairs; events past their window's grace are late."""
        batch = CellBatch()
        window_ms, oldest_open = self.window_ms, now_ms - self.grace_ms
        # The all-searches cells, counted by (window, country) first: one key is made per cell, not per search.
        totals: dict[tuple[int, str], int] = {}
        for event, decision in decided:
            start = event.ts_ms - event.ts_ms % window_ms
            if start + window_ms < oldest_open:
                batch.late += 1
                continue
            country = event.country or "ZZ"
            totals[start, country] = totals.get((start, country), 0) + 1
            if not decision["intercept"]:
                continue
            hashed = hmac.new(self._key, event.user_id.encode(), sha256).digest() if event.user_id else None
            for condition in decision["conditions"]:
                key = cell_key(start, condition["id"], condition["tier"], country)
                batch.searches[key] += 1
                if hashed is not None:
                    sketch = batch.sketches.get(key)
                    if sketch is None:
                        sketch = batch.sketches[key] = new_sketch()
                    sketch.update(hashed)
        for (start, country), n in totals.items():
            batch.searches[cell_key(start, ALL, ALL, country)] += n
        if decided:  # one version decided the whole batch: counted per cell, not per search
            version = decided[0][1]["lexicon_version"]
            batch.versions = {key: Counter({version: n}) for key, n in batch.searches.items()}
        return batch

    def updates(self, batch: CellBatch) -> list[tuple[bytes, bytes, int]]:
        """(key, value, partition) records for the internal updates topic."""
        out = []
        for key, count in batch.searches.items():
            sketch = batch.sketches.get(key)
            value = orjson.dumps({"n": count, "r": sketch_to_text(sketch) if sketch is not None else None,
                                  "v": batch.versions.get(key, {})})
            out.append((key, value, partition_for(key, self.partitions)))
        return out

    @staticmethod
    def merge(current: bytes | None, update: bytes) -> bytes:
        incoming = orjson.loads(update)
        if current is None:
            return update
        state = orjson.loads(current)
        if state.get("closed"):
            return current
        registers = state["r"]
        if incoming["r"] is not None:
            sketch = sketch_from_text(incoming["r"])
            if registers is not None:
                sketch.merge(sketch_from_text(registers))
            registers = sketch_to_text(sketch)
        versions = Counter(state.get("v", {}))
        versions.update(incoming.get("v", {}))
        return orjson.dumps({"n": state["n"] + incoming["n"], "r": registers, "v": versions})

    def is_closed(self, value: bytes) -> bool:
        return bool(orjson.loads(value).get("closed"))

    def due(self, key: bytes, now_ms: int) -> bool:
        start = parse_key(key)[0]
        return start + self.window_ms + self.grace_ms <= now_ms

    def expired_marker(self, key: bytes, now_ms: int) -> bool:
        """Markers of closed windows are kept for ten windows past their grace, then dropped."""
        start = parse_key(key)[0]
        return start + 11 * self.window_ms + self.grace_ms <= now_ms

    def publishable(self, key: bytes, value: bytes, lexicon_version: str) -> dict[str, Any] | None:
        """The record for a closing cell, or None when it has fewer than k distinct people (or searches, for
        the all-searches denominator, which has no people count). `lexicon_version` is the window's version
        when the cell's updates carry none (an update written before cells counted their versions)."""
        start, condition, tier, country = parse_key(key)
        state = orjson.loads(value)
        count = state["n"]
        users = None if condition == ALL else (
            round(sketch_from_text(state["r"]).count()) if state["r"] is not None else 0)
        if self.epsilon is not None:
            count, users = self._noisy(count), None if users is None else self._noisy(users)
        if (users if users is not None else count) < self.k:
            return None
        versions: dict[str, int] = state.get("v") or {lexicon_version: state["n"]}
        record: dict[str, Any] = {
            "window_start_ms": start, "window_end_ms": start + self.window_ms,
            "condition": None if condition == ALL else condition, "tier": None if tier == ALL else tier,
            "country": country, "count": count, "users": users,
            # the version that decided most of the window's searches (ties: the later name)
            "lexicon_version": max(versions, key=lambda v: (versions[v], v)),
        }
        if len(versions) > 1:  # a new version went live within the window: all of them (names only: exact
            record["lexicon_versions"] = sorted(versions)  # counts would undo the noise of SIGNPOST_DP_EPSILON)
        return record

    def _noisy(self, value: int) -> int:
        """Discrete Laplace noise of scale 1/epsilon (OpenDP): epsilon-DP for a count that one unit changes by
        at most 1 (a person, for `users`; a single search, for `count`)."""
        if self._mechanism is None:
            import opendp.prelude as dp  # optional: pip install '.[dp]'

            dp.enable_features("contrib")
            assert self.epsilon is not None
            self._mechanism = dp.m.make_laplace(dp.atom_domain(T=int), dp.absolute_distance(T=int),
                                                scale=1.0 / self.epsilon)
        return max(0, int(self._mechanism(value)))


CLOSED = orjson.dumps({"closed": True})
