"""The one lexicon loader: JSON files under lexicon/ into frozen, validated models.

Everything that can be wrong with the lexicon is found here, at load time, and reported with the file and the
entry: schema violations, duplicate or conflicting terms, dangling condition ids, conditions without a
resource. The worker, `signpost classify`, the evaluation and the benchmark all load through `load_lexicon`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema

from streams.core import normalize
from streams.core.hours import parse_hours
from streams.core.patterns import EMPTY, Pattern, PatternSet, read_patterns
from streams.core.resources import Resource
from streams.core.vocabulary import CONTACT_KINDS, Tier

DEFAULT_LEXICON_DIR = Path(__file__).resolve().parents[2] / "lexicon"


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
    typo_guard: frozenset[str]
    patterns: PatternSet = EMPTY
    common_words: Mapping[str, float] = field(default_factory=dict)  # word -> Zipf (ops/lexicon/typo_guard.py)

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


def _schema(name: str) -> dict[str, Any]:
    """The package's own schema: a lexicon folder cannot bring a lenient one of its own."""
    text = (files("streams") / "schemas" / "lexicon" / name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError(path, "(file)", f"cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise LexiconError(path, f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}") from None


def _validate(path: Path, data: Any, schema: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        entry = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        if isinstance(data, list) and error.absolute_path and isinstance(data[error.absolute_path[0]], dict):
            entry = f"{data[error.absolute_path[0]].get('id', '?')} ({entry})"
        raise LexiconError(path, entry, error.message)


def _condition(path: Path, raw: dict[str, Any]) -> Condition:
    if raw["id"] != path.stem:
        raise LexiconError(path, "id", f"id {raw['id']!r} must equal the file name {path.stem!r}")
    return Condition(
        id=raw["id"],
        name=raw["name"],
        tier=raw["tier"],
        terms={lang: tuple(terms) for lang, terms in raw["terms"].items()},
        coded=tuple(raw.get("coded", ())),
        contextual=tuple(Contextual(c["term"], tuple(c["with"])) for c in raw.get("contextual", ())),
        exclusions={lang: tuple(ex) for lang, ex in raw.get("exclusions", {}).items()},
    )


def _check_terms(files: dict[str, Path], conditions: dict[str, Condition]) -> None:
    """No term twice, in one condition or across two, once normalized; no exclusion equal to its own term.

    An exclusion cancels matches of its own condition only, so it may equal another condition's term
    ("schädel hirn trauma" is not PTSD, and is a brain injury)."""
    owner: dict[str, tuple[str, str]] = {}
    for cond in conditions.values():
        entries = [(f"terms.{lang}", t) for lang, ts in cond.terms.items() for t in ts]
        entries += [("coded", t) for t in cond.coded] + [("contextual", c.term) for c in cond.contextual]
        for entry, term in entries:
            key = normalize.phrase(term)
            if not key:
                raise LexiconError(files[cond.id], entry, f"term {term!r} has no letters once normalized")
            if key in owner:
                other, other_entry = owner[key]
                where = "twice in this condition" if other == cond.id else f"also in condition {other!r}"
                raise LexiconError(
                    files[cond.id], entry,
                    f"term {term!r} (normalized {key!r}) is {where} ({other_entry})",
                )
            owner[key] = (cond.id, entry)
    for cond in conditions.values():
        for lang, exclusions in cond.exclusions.items():
            for ex in exclusions:
                key = normalize.phrase(ex)
                if owner.get(key, ("", ""))[0] == cond.id:
                    raise LexiconError(
                        files[cond.id], f"exclusions.{lang}",
                        f"exclusion {ex!r} is also a term of this condition",
                    )


def _check_resources(lexicon_dir: Path, resources: dict[str, Resource], origin: dict[str, Path],
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
                lexicon_dir / "conditions" / f"{cond.id}.json", cond.id,
                "no info resource names this condition (every condition needs a trusted page)",
            )
    if not any(r.role == "crisis_directory" for r in resources.values()):
        raise LexiconError(lexicon_dir / "resources", "(all files)", "no crisis_directory resource")


def load_lexicon(lexicon_dir: Path | str = DEFAULT_LEXICON_DIR) -> Lexicon:
    lexicon_dir = Path(lexicon_dir)
    if not lexicon_dir.is_dir():
        raise LexiconError(lexicon_dir, "(folder)", "does not exist")
    digest = hashlib.sha256()

    manifest_path = lexicon_dir / "manifest.json"
    manifest = _read_json(manifest_path)
    _validate(manifest_path, manifest, _schema("manifest.schema.json"))
    digest.update(manifest_path.read_bytes())

    conditions: dict[str, Condition] = {}
    files: dict[str, Path] = {}
    for path, raw in _documents(lexicon_dir / "conditions", "condition.schema.json", digest):
        cond = _condition(path, raw)
        conditions[cond.id], files[cond.id] = cond, path
    if not conditions:
        raise LexiconError(lexicon_dir / "conditions", "(folder)", "holds no condition")
    _check_terms(files, conditions)

    patterns = _load_patterns(lexicon_dir, conditions, digest)

    resources: dict[str, Resource] = {}
    origin: dict[str, Path] = {}
    for path, raw_list in _documents(lexicon_dir / "resources", "resources.schema.json", digest):
        for raw in raw_list:
            if raw["id"] in resources:
                raise LexiconError(path, raw["id"], f"resource id also used in {origin[raw['id']]}")
            fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
            try:
                fields["open"] = parse_hours(raw.get("open"))
            except (ValueError, KeyError) as exc:
                raise LexiconError(path, f"{raw['id']} (open)", str(exc)) from None
            resources[raw["id"]] = Resource(**fields)
            origin[raw["id"]] = path
    _check_resources(lexicon_dir, resources, origin, conditions)

    guard = set(manifest.get("typo_guard", ()))
    guard.update(line for _, line in _lines(lexicon_dir / "typo-guard.txt", digest))
    common: dict[str, float] = {}
    common_path = lexicon_dir / "common-words.txt"
    for number, line in _lines(common_path, digest):
        word, _, zipf = line.rpartition(" ")
        try:
            common[word] = float(zipf)
        except ValueError:
            raise LexiconError(common_path, f"line {number}", "not '<word> <Zipf frequency>': regenerate it "
                               "with ops/lexicon/typo_guard.py") from None
    return Lexicon(
        version=f"{manifest['version']}+{digest.hexdigest()[:12]}",
        conditions=conditions,
        resources=resources,
        typo_guard=frozenset(normalize.fold(w) for w in guard),
        patterns=patterns,
        common_words=MappingProxyType(common),
    )


def _documents(folder: Path, schema_name: str, digest: Any) -> Iterator[tuple[Path, Any]]:
    """Each JSON file of a folder, in name order, validated against the package's schema and added to the
    version's digest."""
    schema = _schema(schema_name)
    for path in sorted(folder.glob("*.json")):
        raw = _read_json(path)
        _validate(path, raw, schema)
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
        yield path, raw


def _lines(path: Path, digest: Any) -> Iterator[tuple[int, str]]:
    """The numbered lines of a generated word list (ops/lexicon/typo_guard.py), less comments; none if absent."""
    if not path.exists():
        return
    digest.update(path.read_bytes())
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            yield number, line.strip()


def _load_patterns(lexicon_dir: Path, conditions: dict[str, Condition], digest: Any) -> PatternSet:
    classes: dict[str, tuple[str, ...]] = {}
    patterns: list[Pattern] = []
    origin: dict[str, Path] = {}
    for path, raw in _documents(lexicon_dir / "patterns", "patterns.schema.json", digest):

        def fail(entry: str, problem: str, path: Path = path) -> None:
            raise LexiconError(path, entry, problem)

        more_classes, more = read_patterns(path, raw, conditions, fail)
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
