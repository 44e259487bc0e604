"""The least-privilege ACLs of each principal, for the configured topic and group names (docs/security.md).

Three principals: the worker reads searches and writes decisions, dead letters and counters (and its own
internal topics); the frontend reads decisions only; the analyst reads counters only. Searches and dead letters
hold queries and user ids, so only the worker may read them. `signpost acls` prints these as `kafka-acls`
commands, or as JSON for tooling.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass

from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
)

from streams.settings import Settings

AUTHORIZATION_ERRORS = (TopicAuthorizationFailedError, GroupAuthorizationFailedError,
                        TransactionalIdAuthorizationFailed, ClusterAuthorizationFailedError)


@dataclass(frozen=True, slots=True)
class Acl:
    principal: str  # "User:signpost"
    resource: str  # topic | group | transactional-id
    name: str
    pattern: str  # literal | prefixed
    operations: tuple[str, ...]  # Kafka's operation names: Read, Write, Describe, Create
    why: str


def faust_internal_prefix(settings: Settings) -> str:
    """Faust's own topics (its assignor's) are named after its app id."""
    return f"{settings.app_id}-counters-"


def merge_group(settings: Settings) -> str:
    """The counters' merge's consumer group (streams/counter_merge_loop.py)."""
    return f"{settings.app_id}-counter-merge"


def merge_transactional_prefix(settings: Settings) -> str:
    """The counters' merge's transactional ids, one a partition: `<app id>-counter-merge-<partition>`."""
    return f"{settings.app_id}-counter-merge-"


def transactional_prefix(settings: Settings) -> str:
    """The decision loop's transactional ids in exactly-once mode: `<app id>-decide-<host>-<data dir>`."""
    return f"{settings.app_id}-decide-"


def minimal_acls(settings: Settings, worker: str = "User:signpost", frontend: str = "User:frontend",
                 analyst: str = "User:analyst", frontend_group: str = "signpost-frontend",
                 analyst_group: str = "signpost-analyst") -> list[Acl]:
    s = settings
    acls = [
        Acl(worker, "topic", s.events_topic, "literal", ("Read", "Describe"), "reads the searches"),
        *(Acl(worker, "topic", topic, "literal", ("Write", "Describe"), why) for topic, why in (
            (s.decisions_topic, "writes one decision a search"),
            (s.dlq_topic, "writes the records it cannot decide"),
            (s.counters_topic, "publishes the k-anonymous counters"))),
        Acl(worker, "topic", s.lexicon_topic, "literal", ("Read", "Describe"),
            "follows the published lexicon versions (whoever publishes needs Write on it)"),
        Acl(worker, "topic", s.counter_updates_topic, "literal", ("Read", "Write", "Describe", "Create"),
            "its partial counter cells and ticks, read by the counters' merge"),
        Acl(worker, "topic", s.counter_cells_topic, "literal", ("Read", "Write", "Describe", "Create"),
            "the counters' merged cells (the merge's changelog)"),
        Acl(worker, "topic", faust_internal_prefix(s), "prefixed", ("Read", "Write", "Describe", "Create"),
            "Faust's own topics (its assignor's), created by Faust"),
        Acl(worker, "group", s.app_id, "literal", ("Read", "Describe"), "the decision loop's consumer group"),
        Acl(worker, "group", f"{s.app_id}-counters", "literal", ("Read", "Describe"), "Faust's consumer group"),
        Acl(worker, "group", merge_group(s), "literal", ("Read", "Describe"), "the counters' merge's consumer group"),
        Acl(worker, "transactional-id", transactional_prefix(s), "prefixed", ("Write", "Describe"),
            "exactly-once mode only: the decision loop's transactions"),
        Acl(worker, "transactional-id", merge_transactional_prefix(s), "prefixed", ("Write", "Describe"),
            "the counters' merge's transactions, one a partition (both modes)"),
        Acl(frontend, "topic", s.decisions_topic, "literal", ("Read", "Describe"), "reads the decisions"),
        Acl(frontend, "group", frontend_group, "literal", ("Read", "Describe"), "the frontend's consumer group"),
        Acl(analyst, "topic", s.counters_topic, "literal", ("Read", "Describe"), "reads the counters"),
        Acl(analyst, "group", analyst_group, "literal", ("Read", "Describe"), "the analyst's consumer group"),
    ]
    return acls


def as_commands(acls: list[Acl], bootstrap: str, command_config: str | None = None) -> list[str]:
    """One `kafka-acls.sh --add` command per ACL (an admin principal runs them)."""
    lines = []
    for acl in acls:
        args = ["kafka-acls.sh", "--bootstrap-server", bootstrap]
        if command_config:
            args += ["--command-config", command_config]
        args += ["--add", "--allow-principal", acl.principal]
        for operation in acl.operations:
            args += ["--operation", operation]
        args += [f"--{acl.resource}", acl.name, "--resource-pattern-type", acl.pattern]
        lines.append(f"{shlex.join(args)}  # {acl.why}")
    return lines


def as_records(acls: list[Acl]) -> list[dict[str, object]]:
    return [asdict(acl) for acl in acls]


class NotAuthorized(RuntimeError):
    """The broker refused the worker for want of an ACL; the message names the resource and what it needs."""

    @classmethod
    def of(cls, exc: Exception, settings: Settings) -> NotAuthorized:
        principal = f"User:{settings.sasl_username}" if settings.sasl_username else "the worker's principal"
        kind = {TopicAuthorizationFailedError: "topic", GroupAuthorizationFailedError: "group",
                TransactionalIdAuthorizationFailed: "transactional-id"}.get(type(exc), "cluster")
        names = sorted(_names(exc.args))
        acls = minimal_acls(settings)
        worker = acls[0].principal  # the worker's ACLs come first
        needs = [f"{', '.join(acl.operations)} on {acl.resource} {acl.name!r} ({acl.why})"
                 for acl in acls if acl.principal == worker and acl.resource == kind
                 and any(_covers(acl, name) for name in names)]
        what = f"{kind} {', '.join(repr(n) for n in names)}" if names else f"a {kind} resource"
        return cls(f"not authorized: the broker refused {principal} on {what} ({type(exc).__name__}); "
                   f"it needs {'; '.join(needs) or 'the ACLs `signpost acls` prints'}. "
                   "`signpost acls` prints every ACL the worker needs (docs/security.md).")


def _names(args: tuple[object, ...]) -> set[str]:
    names: set[str] = set()
    for arg in args:
        if isinstance(arg, str):
            names.add(arg)
        elif isinstance(arg, (set, list, tuple, frozenset)):
            names |= {str(a) for a in arg}
    return names


def _covers(acl: Acl, name: str) -> bool:
    return name == acl.name or (acl.pattern == "prefixed" and name.startswith(acl.name))
