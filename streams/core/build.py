"""Building a lexicon's matcher in small steps, so that a build beside a running decision loop never makes a
search wait for it (streams/lexicon_topic.py).

A build calls `pace()` often (`paced` wraps its long loops). Nothing happens there unless the thread building has
been given a turn function (`taking_turns`): the worker's follower gives one that returns at once while the
decision loop waits for searches and blocks while it decides. The build's other long steps are cut small too:
Aho-Corasick automata are made from at most `AUTOMATON_CHARS` characters of keys each (`automata`), since
`make_automaton()` holds the interpreter lock throughout: 0.2-0.3 us per character, measured (41 ms for the
hashtag automaton's 10,000 keys).

A build made in another process is handed over pickled (`handed`) and taken (`taken`) in steps too: the unpickler
reads a protocol-5 pickle frame by frame, and each read is a turn. Frames are `FRAME_BYTES`, not pickle's 64 KB:
the bench's version read 64 KB frames in up to 1.9-3.4 ms each, and 16 KB ones in at most 0.8-1.2 ms
(measured). Taking a lexicon and matcher costs the worker a sixth to a tenth
of what building them does (0.16 against 1.37 s of CPU for a pattern edit, docs/decisions.md).
"""

from __future__ import annotations

import copyreg
import io
import pickle
import pickletools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from types import MappingProxyType
from typing import Any, BinaryIO, TypeVar

import ahocorasick

T = TypeVar("T")
FRAME_BYTES = 16 * 1024  # of a build handed over, read (a turn) a frame at a time: about 0.8 ms of objects
PACE_EVERY = 16  # items of a paced loop between two turns: microseconds of work
AUTOMATON_CHARS = 12_000  # characters of keys per automaton: about 3 ms to make

_thread = threading.local()


def taking_turns(turn: Callable[[], None] | None) -> None:
    """Gives this thread's builds a turn function (None: none, they run straight through)."""
    _thread.turn = turn


def pace() -> None:
    """A point where a build may wait for its turn."""
    turn = getattr(_thread, "turn", None)
    if turn is not None:
        turn()


def paced(items: Iterable[T]) -> Iterator[T]:
    """The items, with a turn every PACE_EVERY of them."""
    turn = getattr(_thread, "turn", None)
    if turn is None:
        yield from items
        return
    for i, item in enumerate(items):
        if not i % PACE_EVERY:
            turn()
        yield item


def automata(keyed: Iterable[tuple[str, Any]]) -> tuple[Any, ...]:
    """Aho-Corasick automata over (key, value) pairs, AUTOMATON_CHARS of keys each: a search scans them all
    (`scan`)."""
    made: list[Any] = []
    automaton, chars = ahocorasick.Automaton(), 0
    for key, value in paced(keyed):
        if chars + len(key) > AUTOMATON_CHARS and chars:
            automaton.make_automaton()
            made.append(automaton)
            pace()
            automaton, chars = ahocorasick.Automaton(), 0
        automaton.add_word(key, value)
        chars += len(key)
    if len(automaton):
        automaton.make_automaton()
        made.append(automaton)
    return tuple(made)


def scan(made: tuple[Any, ...], text: str) -> Iterator[tuple[int, Any]]:
    """Every (end, value) of `automata` in `text`, by end position as one automaton would give them."""
    if len(made) == 1:
        return made[0].iter(text)  # type: ignore[no-any-return]
    return iter(sorted((hit for automaton in made for hit in automaton.iter(text)), key=_end_then_longest))


def _end_then_longest(hit: tuple[int, Any]) -> tuple[int, int]:
    return hit[0], -hit[1][0]  # values start with the key's length


class Kept:
    """Stands, in a build handed over, for an object the taking process already has (`taken`'s `kept`)."""

    def __init__(self, name: str) -> None:
        self.name = name


class Patched:
    """Stands, in a build handed over, for a dict of dicts the taking process has (`base`, a `Kept`) with a few keys
    of the inner dicts changed: `changes` maps an inner dict's key to its changes, each key to its new value or to
    None where it is gone. Taken as a new outer dict (`_patched`) that shares the inner dicts left unchanged."""

    def __init__(self, base: Kept, changes: Mapping[Any, Mapping[Any, Any]]) -> None:
        self.base, self.changes = base, changes

    def __reduce__(self) -> tuple[Any, ...]:
        return _patched, (self.base, {outer: dict(inner) for outer, inner in self.changes.items()})


PATCH_COPY_CHUNK = 1024  # entries copied between two turns: a fraction of a millisecond


def _patched(base: Mapping[Any, Mapping[Any, Any]], changes: dict[Any, dict[Any, Any]]) -> dict[Any, Any]:
    """`base` with `changes` (`Patched`): each inner dict changed copied in turns, then changed."""
    out = dict(base)
    for outer, inner_changes in changes.items():
        inner: dict[Any, Any] = {}
        items = iter(base.get(outer, {}).items())
        while chunk := list(islice(items, PATCH_COPY_CHUNK)):
            pace()
            inner.update(chunk)
        for key, value in inner_changes.items():
            if value is None:
                inner.pop(key, None)
            else:
                inner[key] = value
        if inner:
            out[outer] = inner
        else:
            out.pop(outer, None)
    return out


class _Handing(pickle.Pickler):
    dispatch_table = {**copyreg.dispatch_table, MappingProxyType: lambda proxy: (_proxy, (dict(proxy),))}

    def __init__(self, out: BinaryIO, standing_in: Mapping[int, str]) -> None:
        super().__init__(out, protocol=5)
        self._standing_in = standing_in

    def persistent_id(self, obj: Any) -> str | None:
        return obj.name if type(obj) is Kept else self._standing_in.get(id(obj))


def _proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


def handed(built: Any, out: BinaryIO, standing_in: Mapping[str, Any] | None = None) -> None:
    """`built` pickled into `out` for another process of this code to take (`taken`), its `Kept` stand-ins by
    name, and so the objects of `standing_in` (name -> object: ones the taking process has alike).

    The pickle is optimized (`pickletools.optimize`): the unpickler remembers only the objects it meets again, not
    every string and tuple, and lets go of what it remembered in one step when it is done, which no turn can
    split (the bench's version: 290,972 entries, 6-8 ms, against 60,365 entries, about 1 ms; 0.8-1.5 s more here)."""
    pickled = io.BytesIO()
    _Handing(pickled, {id(obj): name for name, obj in (standing_in or {}).items()}).dump(built)
    framing = pickle._Framer._FRAME_SIZE_TARGET  # type: ignore[attr-defined]
    pickle._Framer._FRAME_SIZE_TARGET = FRAME_BYTES  # type: ignore[attr-defined]  # optimize frames it anew
    try:
        out.write(pickletools.optimize(pickled.getvalue()))
    finally:
        pickle._Framer._FRAME_SIZE_TARGET = framing  # type: ignore[attr-defined]


class _PacedReader:
    """The pickle's file as the unpickler reads it: a frame at a time, each read a turn."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    def read(self, size: int = -1) -> bytes:
        pace()
        return self._file.read(size)

    def readinto(self, buffer: bytearray) -> int:
        pace()
        return self._file.readinto(buffer)  # type: ignore[attr-defined, no-any-return]

    def readline(self) -> bytes:
        pace()
        return self._file.readline()


def taken(file: BinaryIO, kept: Mapping[str, Any]) -> Any:
    """What `handed` pickled into `file`, unpickled in turns (`pace`), its stand-ins replaced by this process's
    `kept`. Only for a file a process this one started wrote: unpickling runs code the bytes name."""
    unpickler = pickle.Unpickler(_PacedReader(file))
    unpickler.persistent_load = kept.__getitem__  # type: ignore[method-assign]
    built = unpickler.load()
    pace()
    del unpickler  # letting go of what it remembered: a step of its own
    pace()
    return built
