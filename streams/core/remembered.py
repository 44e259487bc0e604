"""Decisions remembered for repeated searches: one search's decision, encoded, for the next search with the same
query, locale and country.

Search traffic repeats heavily (query frequency follows a Zipf law, bench/mix.py cites the studies): a repeated
search needs neither the matcher nor the ordering of help nor the encoding again, only its own search id and
time. What is remembered is what a decision says besides those two, already encoded, so the record published
for a repeat is byte for byte the one `orjson.dumps(decider.decide(event, now_ms))` would give (a unit test
checks). Keyed by (query, locale, country): never a user id or a search id. Bounded: the least recently used
entry goes once `size` are held. One `Remembered` per Decider, so a new lexicon version starts empty. A
decision that lists lines with opening hours is remembered with which lines were open, and made again when
that changed.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import orjson

from streams.core.decide import Decider, Decision
from streams.core.events import SearchEvent

DEFAULT_SIZE = 65_536  # entries: a few hundred bytes each (the key and its query; the entry itself is shared)
_SEARCH_ID = b'{"search_id":'
_DECIDED_AT = b',"decided_at_ms":'


class _Entry(NamedTuple):
    decision: Decision  # as first made: its search_id and decided_at_ms are that search's, never published
    middle: bytes  # the encoded fields between search_id and decided_at_ms
    open_ids: frozenset[str] | None  # the lines open when it was made, when its help has opening hours


class Remembered:
    def __init__(self, decider: Decider, size: int = DEFAULT_SIZE) -> None:
        self.decider = decider
        self.size = size
        self._entries: OrderedDict[tuple[str, str, str | None], _Entry] = OrderedDict()
        # Entries with the same encoded fields are one object: most searches get no help, and their entries
        # differ only by locale and country (measured: without it the cache held ~1 KB a search, peak RSS 317 MB).
        self._shared: dict[tuple[bytes, frozenset[str] | None], _Entry] = {}
        self.hits = 0
        self.lookups = 0

    def decide(self, event: SearchEvent, now_ms: int) -> tuple[Decision, bytes]:
        """This search's decision and its encoded record."""
        if self.size <= 0:
            decision = self.decider.decide(event, now_ms)
            return decision, orjson.dumps(decision)
        self.lookups += 1
        key = (event.query, event.locale, event.country)
        entry = self._entries.get(key)
        if entry is not None and (entry.open_ids is None
                                  or entry.open_ids == self.decider.open_ids(event.country, now_ms)):
            self.hits += 1
            self._entries.move_to_end(key)
            value = b"".join((_SEARCH_ID, orjson.dumps(event.search_id), entry.middle, _DECIDED_AT,
                              str(now_ms).encode(), b"}"))
            return {**entry.decision, "search_id": event.search_id, "decided_at_ms": now_ms}, value
        decision = self.decider.decide(event, now_ms)
        value = orjson.dumps(decision)
        head = len(_SEARCH_ID) + len(orjson.dumps(event.search_id))
        tail = len(_DECIDED_AT) + len(str(now_ms)) + 1
        timed = self.decider.open_ids(event.country, now_ms) if decision["resources"] else None
        middle = value[head:-tail]
        shared = self._shared.get((middle, timed))
        if shared is None:
            if len(self._shared) >= self.size:  # bounded too: distinct decisions are far fewer than searches
                self._shared.clear()
            shared = self._shared[middle, timed] = _Entry(decision, middle, timed)
        self._entries[key] = shared
        self._entries.move_to_end(key)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return decision, value
