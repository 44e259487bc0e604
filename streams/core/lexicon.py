"""The one lexicon loader: JSON files under lexicon/ into frozen, validated models.

Everything that can be wrong with the lexicon is found here, at load time, and reported with the file and the
entry: schema violations, duplicate or conflicting terms, dangling condition ids, conditions without a
resource. The worker, `signpost classify`, the evaluation and the benchmark all load through `load_lexicon`; a
version published on the lexicon topic is the same files as bytes (`LexiconFiles`), compiled by `compile_lexicon`.

A deployment overlay (`SIGNPOST_LEXICON_OVERLAY`, lexicon/FORMAT.md) is merged over the base here too, with the
same checks: its partner resources, its in-app support page, terms it adds and terms it must never intercept.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

import jsonschema_rs

from streams.core import normalize
from streams.core.build import pace, paced
from streams.core.hours import parse_hours
from streams.core.patterns import EMPTY, Pattern, PatternSet, read_patterns
from streams.core.resources import Resource
from streams.core.vocabulary import CONTACT_KINDS, Tier

DEFAULT_LEXICON_DIR = Path(__file__).resolve().parents[2] / "lexicon"
_GUARD_LANGUAGE = re.compile(r"[a-z]{2,3}")
EVERY_LANGUAGE = frozenset({"*"})  # a typo-guard word of the manifest, or of a line that names no language
# What the loader reads of a lexicon or overlay folder (and what a published version carries).
LEXICON_FILES = ("manifest.json", "overlay.json", "conditions/*.json", "patterns/*.json", "resources/*.json",
                 "typo-guard.txt", "common-words.txt")


class LexiconError(ValueError):
    """A broken lexicon: names the file and the entry."""

    def __init__(self, file: Path | str, entry: str, problem: str) -> None:
        self.file, self.entry, self.problem = str(file), entry, problem
        super().__init__(f"{file}: {entry}: {problem}")


@dataclass(frozen=True, slots=True)
class Contextual:
    term: str
    with_: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Condition:
    id: str
    name: str
    tier: Tier
    terms: dict[str, tuple[str, ...]]
    coded: tuple[str, ...] = ()
    contextual: tuple[Contextual, ...] = ()
    exclusions: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Lexicon:
    version: str
    conditions: dict[str, Condition]
    resources: dict[str, Resource]
    typo_guard: Mapping[str, frozenset[str]]  # word -> the languages it is a common word of; EVERY_LANGUAGE
    patterns: PatternSet = EMPTY
    common_words: Mapping[str, float] = field(default_factory=dict)  # word -> Zipf (ops/lexicon/typo_guard.py)
    base_version: str = ""  # the base lexicon's own version; `version` adds the overlay's, if any
    overlay_version: str | None = None  # "<name>@<version>+<digest>" of the deployment overlay
    never_intercept: tuple[str, ...] = ()  # the overlay's phrases, normalized: a search holding one gets no help
    support_page: Resource | None = None  # the overlay's in-app support page: shown with every intercept
    # A digest of what the matcher reads (terms, patterns, word lists; an overlay whole): two versions with the
    # same one match every search alike, so a new version that changes only resources keeps the live matcher.
    matching_digest: str = ""
    patterns_digest: str = ""  # ... and of what its patterns read (patterns/, common-words.txt): kept alike too
    words_digest: str = ""  # ... and of its word lists (`typo_guard`, `common_words`): a new version keeps alike

    def crisis_lines(self, country: str | None) -> tuple[Resource, ...]:
        return self.of_role("crisis_line", country)

    def of_role(self, role: str, country: str | None) -> tuple[Resource, ...]:
        return tuple(r for r in self.resources.values() if r.role == role and country in r.countries)

    def serving(self, cond: Condition, country: str | None) -> list[Resource]:
        """What serves a condition in a country: resources for it or its tier, national or worldwide, and the
        country's crisis lines that also offer emotional support (tier support)."""
        return [
            r for r in self.resources.values()
            if (r.role is None or r.role == "crisis_line") and (cond.id in r.conditions or cond.tier in r.tiers)
            and (country in r.countries if r.role or r.countries else True)
        ]

    def countries(self, role: str = "crisis_line") -> list[str]:
        return sorted({c for r in self.resources.values() if r.role == role for c in r.countries})


@dataclass(frozen=True, slots=True)
class LexiconFiles:
    """A lexicon (or overlay) folder as bytes: its files by relative path (LEXICON_FILES). `root` is what errors
    name the files by: the folder, or the topic and version a published record came from."""

    root: str
    files: Mapping[str, bytes]

    def where(self, name: str) -> str:
        return f"{self.root}/{name}"

    def names(self, folder: str, suffix: str) -> list[str]:
        """The files directly in `folder` whose names end with `suffix`, in name order."""
        prefix = f"{folder}/"
        return sorted(n for n in self.files
                      if n.startswith(prefix) and n.endswith(suffix) and "/" not in n[len(prefix):])


def read_folder(folder: Path | str) -> LexiconFiles:
    """The files of a lexicon or overlay folder that the loader reads (LEXICON_FILES)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LexiconError(folder, "(folder)", "does not exist")
    found: dict[str, bytes] = {}
    for pattern in LEXICON_FILES:
        for path in sorted(folder.glob(pattern)):
            try:
                found[path.relative_to(folder).as_posix()] = path.read_bytes()
            except OSError as exc:
                raise LexiconError(path, "(file)", f"cannot be read: {exc}") from None
    return LexiconFiles(str(folder), found)


@functools.cache
def _schema(name: str) -> Any:
    """The package's own schema, compiled once: a lexicon folder cannot bring a lenient one of its own. Rust's
    validator (jsonschema-rs) checks a whole lexicon in about 0.02 s of CPU, where the pure-Python one took 1.5 s,
    most of the time a published version takes to check (docs/decisions.md)."""
    text = (files("streams") / "schemas" / "lexicon" / name).read_text(encoding="utf-8")
    return jsonschema_rs.validator_for(json.loads(text))


def _read_json(source: LexiconFiles, name: str) -> Any:
    where = source.where(name)
    if name not in source.files:
        raise LexiconError(where, "(file)", "is missing")
    try:
        return json.loads(source.files[name].decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise LexiconError(where, "(file)", f"cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise LexiconError(where, f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}") from None


def _validate(path: str, data: Any, schema: Any) -> None:
    if schema.is_valid(data):
        return
    error = min(schema.iter_errors(data), key=lambda e: [(isinstance(p, str), p) for p in e.instance_path])
    where = list(error.instance_path)
    entry = "/".join(str(p) for p in where) or "(top level)"
    if isinstance(data, list) and where and isinstance(data[where[0]], dict):
        entry = f"{data[where[0]].get('id', '?')} ({entry})"
    raise LexiconError(path, entry, error.message)


def _condition(path: str, raw: dict[str, Any]) -> Condition:
    stem = PurePosixPath(path).stem
    if raw["id"] != stem:
        raise LexiconError(path, "id", f"id {raw['id']!r} must equal the file name {stem!r}")
    return Condition(
        id=raw["id"],
        name=raw["name"],
        tier=raw["tier"],
        terms={lang: tuple(terms) for lang, terms in raw["terms"].items()},
        coded=tuple(raw.get("coded", ())),
        contextual=tuple(Contextual(c["term"], tuple(c["with"])) for c in raw.get("contextual", ())),
        exclusions={lang: tuple(ex) for lang, ex in raw.get("exclusions", {}).items()},
    )


Owners = dict[str, tuple[str, str]]  # normalized term -> (condition id, entry)


def _check_terms(files: dict[str, str], conditions: dict[str, Condition]) -> Owners:
    """No term twice, in one condition or across two, once normalized; no exclusion equal to its own term.
    Returns who owns each normalized term.

    An exclusion cancels matches of its own condition only, so it may equal another condition's term
    ("schädel hirn trauma" is not PTSD, and is a brain injury)."""
    owner: Owners = {}
    for cond in conditions.values():
        entries = [(f"terms.{lang}", t) for lang, ts in cond.terms.items() for t in ts]
        entries += [("coded", t) for t in cond.coded] + [("contextual", c.term) for c in cond.contextual]
        for entry, term in paced(entries):
            _own(owner, files[cond.id], cond.id, entry, term)
    for cond in conditions.values():
        for lang, exclusions in cond.exclusions.items():
            for ex in paced(exclusions):
                key = normalize.phrase(ex)
                if owner.get(key, ("", ""))[0] == cond.id:
                    raise LexiconError(
                        files[cond.id], f"exclusions.{lang}",
                        f"exclusion {ex!r} is also a term of this condition",
                    )
    return owner


def _own(owner: Owners, file: str, condition: str, entry: str, term: str) -> None:
    key = normalize.phrase(term)
    if not key:
        raise LexiconError(file, entry, f"term {term!r} has no letters once normalized")
    if key in owner:
        other, other_entry = owner[key]
        where = "twice in this condition" if other == condition else f"also in condition {other!r}"
        raise LexiconError(file, entry, f"term {term!r} (normalized {key!r}) is {where} ({other_entry})")
    owner[key] = (condition, entry)


def _check_resources(base: LexiconFiles, resources: dict[str, Resource], origin: dict[str, str],
                     conditions: dict[str, Condition]) -> None:
    for res in resources.values():
        for cid in res.conditions:
            if cid not in conditions:
                raise LexiconError(origin[res.id], res.id, f"names condition {cid!r}, which does not exist")
        if res.role == "crisis_line" and (not res.countries or res.kind not in CONTACT_KINDS):
            raise LexiconError(origin[res.id], res.id, "a crisis_line needs countries and kind hotline/text/chat")
        if res.role == "emergency" and (not res.countries or res.kind != "hotline" or not res.phone):
            raise LexiconError(origin[res.id], res.id, "an emergency number needs countries, kind hotline, a phone")
        if res.phone is not None and res.checked is None:
            raise LexiconError(origin[res.id], res.id, "a phone number must say when it was checked (checked)")
        if res.text_keyword is not None and res.kind != "text":
            raise LexiconError(origin[res.id], res.id, "text_keyword is only for kind 'text'")
    for cond in conditions.values():
        has_info = any(cond.id in r.conditions and r.kind == "info" for r in resources.values())
        if not has_info:
            raise LexiconError(
                base.where(f"conditions/{cond.id}.json"), cond.id,
                "no info resource names this condition (every condition needs a trusted page)",
            )
    if not any(r.role == "crisis_directory" for r in resources.values()):
        raise LexiconError(base.where("resources"), "(all files)", "no crisis_directory resource")


def load_lexicon(lexicon_dir: Path | str = DEFAULT_LEXICON_DIR, overlay_dir: Path | str | None = None) -> Lexicon:
    """The lexicon in a folder, with a deployment overlay's folder merged over it if one is named."""
    return compile_lexicon(read_folder(lexicon_dir), None if overlay_dir is None else read_folder(overlay_dir))


def compile_lexicon(base: LexiconFiles, overlay: LexiconFiles | None = None) -> Lexicon:
    """Validates and builds a lexicon from its files; raises LexiconError naming the file and the entry."""
    digest = hashlib.sha256()

    manifest_path = base.where("manifest.json")
    manifest = _read_json(base, "manifest.json")
    _validate(manifest_path, manifest, _schema("manifest.schema.json"))
    digest.update(base.files["manifest.json"])

    conditions: dict[str, Condition] = {}
    files: dict[str, str] = {}
    for path, raw in _documents(base, "conditions", "condition.schema.json", digest):
        cond = _condition(path, raw)
        conditions[cond.id], files[cond.id] = cond, path
    if not conditions:
        raise LexiconError(base.where("conditions"), "(folder)", "holds no condition")
    owners = _check_terms(files, conditions)

    patterns = _load_patterns(base, conditions, digest)

    resources: dict[str, Resource] = {}
    origin: dict[str, str] = {}
    _read_resources(base, digest, resources, origin)

    guard = {normalize.fold(w): EVERY_LANGUAGE for w in manifest.get("typo_guard", ())}
    shared: dict[frozenset[str], frozenset[str]] = {}
    for number, line in paced(_lines(base, "typo-guard.txt", digest)):
        word, _, languages = line.partition(" ")  # "<word> <language>,<language>"; a bare word: every language
        word, these = normalize.fold(word), frozenset(languages.split(",")) if languages else EVERY_LANGUAGE
        if not all(_GUARD_LANGUAGE.fullmatch(lang) for lang in these - EVERY_LANGUAGE):
            raise LexiconError(base.where("typo-guard.txt"), f"line {number}", "not '<word> <language>,...' "
                               "(languages as ISO 639 codes): regenerate it with ops/lexicon/typo_guard.py")
        these = guard[word] | these if word in guard else these
        guard[word] = shared.setdefault(these, these)  # a few hundred distinct sets among 26,000 words
    common: dict[str, float] = {}
    for number, line in paced(_lines(base, "common-words.txt", digest)):
        word, _, zipf = line.rpartition(" ")
        try:
            common[word] = float(zipf)
        except ValueError:
            raise LexiconError(base.where("common-words.txt"), f"line {number}", "not '<word> <Zipf frequency>': "
                               "regenerate it with ops/lexicon/typo_guard.py") from None
    base_version = f"{manifest['version']}+{digest.hexdigest()[:12]}"
    added = _Overlay() if overlay is None else _merge_overlay(overlay, conditions, owners, resources, origin)
    _check_resources(base, resources, origin, conditions)
    guarded = json.dumps(manifest.get("typo_guard", [])).encode()
    return Lexicon(
        matching_digest=_digest(guarded, MATCHED_FILES, base, overlay),
        patterns_digest=_digest(b"", PATTERN_FILES, base),
        words_digest=_digest(guarded, WORD_FILES, base),
        version=base_version if added.version is None else f"{base_version}/{added.version}",
        conditions=conditions,
        resources=resources,
        typo_guard=MappingProxyType(guard),
        patterns=patterns,
        common_words=MappingProxyType(common),
        base_version=base_version,
        overlay_version=added.version,
        never_intercept=added.never_intercept,
        support_page=added.support_page,
    )


MATCHED_FILES = ("conditions/", "patterns/", "typo-guard.txt", "common-words.txt")
PATTERN_FILES = ("patterns/", "common-words.txt")
WORD_FILES = ("typo-guard.txt", "common-words.txt")


def _digest(first: bytes, prefixes: tuple[str, ...], base: LexiconFiles, overlay: LexiconFiles | None = None) -> str:
    """A digest of `first` and the files whose names start with one of `prefixes`, with every file of an overlay
    (its terms are merged into the conditions)."""
    digest = hashlib.sha256(first)
    for source in (base, overlay) if overlay is not None else (base,):
        for name in sorted(source.files):
            if source is overlay or name.startswith(prefixes):
                digest.update(name.encode() + b"\0" + source.files[name] + b"\0")
    return digest.hexdigest()


def _read_resources(source: LexiconFiles, digest: Any, resources: dict[str, Resource], origin: dict[str, str],
                    partner: bool = False) -> None:
    for path, raw_list in _documents(source, "resources", "resources.schema.json", digest):
        for raw in paced(raw_list):
            if raw["id"] in resources:
                raise LexiconError(path, raw["id"], f"resource id also used in {origin[raw['id']]}")
            fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
            try:
                fields["open"] = parse_hours(raw.get("open"))
            except (ValueError, KeyError) as exc:
                raise LexiconError(path, f"{raw['id']} (open)", str(exc)) from None
            resources[raw["id"]] = Resource(**fields, partner=partner)
            origin[raw["id"]] = path


@dataclass(frozen=True, slots=True)
class _Overlay:
    version: str | None = None
    never_intercept: tuple[str, ...] = ()
    support_page: Resource | None = None


def _merge_overlay(overlay: LexiconFiles, conditions: dict[str, Condition], owners: Owners,
                   resources: dict[str, Resource], origin: dict[str, str]) -> _Overlay:
    """Merges a deployment overlay over the base (in place): its resources (partners, shown first in their
    countries), the terms it adds to the base's conditions, its never-intercept phrases and its support page."""
    digest = hashlib.sha256()
    manifest_path = overlay.where("overlay.json")
    manifest = _read_json(overlay, "overlay.json")
    _validate(manifest_path, manifest, _schema("overlay.schema.json"))
    digest.update(overlay.files["overlay.json"])
    _read_resources(overlay, digest, resources, origin, partner=True)
    for cid, by_language in manifest.get("terms", {}).items():
        cond = conditions.get(cid)
        if cond is None:
            raise LexiconError(manifest_path, f"terms.{cid}", f"condition {cid!r} does not exist in the base")
        merged = dict(cond.terms)
        for lang, terms in by_language.items():
            for term in terms:
                _own(owners, manifest_path, cid, f"terms.{cid}.{lang}", term)
            merged[lang] = (*merged.get(lang, ()), *terms)
        conditions[cid] = Condition(cond.id, cond.name, cond.tier, merged, cond.coded, cond.contextual,
                                    cond.exclusions)
    never: list[str] = []
    for lang, phrases in manifest.get("never_intercept", {}).items():
        for phrase in phrases:
            key = normalize.phrase(phrase)
            entry = f"never_intercept.{lang}"
            if not key:
                raise LexiconError(manifest_path, entry, f"phrase {phrase!r} has no letters once normalized")
            owner = owners.get(key)
            if owner is not None and conditions[owner[0]].tier == "crisis":
                raise LexiconError(manifest_path, entry, f"phrase {phrase!r} is a crisis term of condition "
                                   f"{owner[0]!r}: never intercepting it would hide crisis lines")
            never.append(key)
    support: Resource | None = None
    if "support_page" in manifest:
        support = resources.get(manifest["support_page"])
        if support is None or not support.partner or support.kind != "info" or support.url is None:
            raise LexiconError(manifest_path, "support_page", f"{manifest['support_page']!r} is not a resource of "
                               "this overlay with kind info and a url")
    version = f"{manifest['name']}@{manifest['version']}+{digest.hexdigest()[:12]}"
    return _Overlay(version, tuple(dict.fromkeys(never)), support)


def _documents(source: LexiconFiles, folder: str, schema_name: str, digest: Any) -> Iterator[tuple[str, Any]]:
    """Each JSON file of a folder, in name order, validated against the package's schema and added to the
    version's digest."""
    schema = _schema(schema_name)
    for name in source.names(folder, ".json"):
        pace()
        raw = _read_json(source, name)
        path = source.where(name)
        _validate(path, raw, schema)
        digest.update(PurePosixPath(name).name.encode() + b"\0" + source.files[name])
        yield path, raw


def _lines(source: LexiconFiles, name: str, digest: Any) -> Iterator[tuple[int, str]]:
    """The numbered lines of a generated word list (ops/lexicon/typo_guard.py), less comments; none if absent."""
    data = source.files.get(name)
    if data is None:
        return
    digest.update(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LexiconError(source.where(name), "(file)", f"cannot be read: {exc}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            yield number, line.strip()


def _load_patterns(source: LexiconFiles, conditions: dict[str, Condition], digest: Any) -> PatternSet:
    classes: dict[str, tuple[str, ...]] = {}
    patterns: list[Pattern] = []
    origin: dict[str, str] = {}
    for path, raw in _documents(source, "patterns", "patterns.schema.json", digest):

        def fail(entry: str, problem: str, path: str = path) -> None:
            raise LexiconError(path, entry, problem)

        more_classes, more = read_patterns(PurePosixPath(path), raw, conditions, fail)
        for pattern in more:
            if pattern.id in origin:
                fail(f"patterns.{pattern.id}", f"pattern id also used in {origin[pattern.id]}")
            origin[pattern.id] = path
        classes.update(more_classes)
        patterns += more
    return PatternSet(MappingProxyType(classes), tuple(patterns))


def summary(lexicon: Lexicon) -> dict[str, Any]:
    """Counts for `signpost lexicon-check`."""
    per_language: Counter[str] = Counter()
    for cond in lexicon.conditions.values():
        for lang, terms in cond.terms.items():
            per_language[lang] += len(terms)
    return {
        "version": lexicon.version,
        "conditions": dict(Counter(c.tier for c in lexicon.conditions.values())),
        "conditions_total": len(lexicon.conditions),
        "terms_per_language": dict(sorted(per_language.items(), key=lambda kv: -kv[1])),
        "coded_terms": sum(len(c.coded) + len(c.contextual) for c in lexicon.conditions.values()),
        "exclusions": sum(len(e) for c in lexicon.conditions.values() for e in c.exclusions.values()),
        "resources": len(lexicon.resources),
        "crisis_line_countries": lexicon.countries(),
    }
