"""The least-privilege ACLs (streams/acls.py), and the message a refusal gives, without a broker; on a real
authorizer they are exercised by tests/integration/test_acls.py."""

from __future__ import annotations

from aiokafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError

from streams.acls import NotAuthorized, as_commands, minimal_acls
from streams.settings import Settings

S = Settings(app_id="sp", events_topic="ev", decisions_topic="dec", dlq_topic="dlq", counters_topic="cnt")


def readable(principal: str) -> set[str]:
    return {a.name for a in minimal_acls(S) if a.principal == principal and a.resource == "topic"
            and "Read" in a.operations}


def test_only_the_worker_reads_what_holds_queries_and_user_ids() -> None:
    assert readable("User:frontend") == {"dec"}
    assert readable("User:analyst") == {"cnt"}
    assert "ev" in readable("User:signpost") and "dlq" not in readable("User:signpost")  # it only writes them
    writable = {a.name for a in minimal_acls(S) if "Write" in a.operations and a.resource == "topic"}
    assert writable == {"dec", "dlq", "cnt", "sp-counter-updates", "sp-counter-cells", "sp-counters-"}


def test_the_commands_name_principal_operations_and_resource() -> None:
    [line] = [c for c in as_commands(minimal_acls(S), "broker:9093", "admin.properties") if "--topic ev " in c]
    assert line.startswith("kafka-acls.sh --bootstrap-server broker:9093 --command-config admin.properties --add "
                           "--allow-principal User:signpost --operation Read --operation Describe --topic ev "
                           "--resource-pattern-type literal")


def test_a_refusal_names_the_resource_and_what_the_worker_needs() -> None:
    settings = Settings(app_id="sp", decisions_topic="dec", security_protocol="SASL_SSL", sasl_mechanism="PLAIN",
                        sasl_username="w", sasl_password="pw-hunter2-zq")
    message = str(NotAuthorized.of(TopicAuthorizationFailedError("dec"), settings))
    assert "refused User:w on topic 'dec'" in message and "it needs Write, Describe on topic 'dec'" in message
    message = str(NotAuthorized.of(GroupAuthorizationFailedError("sp"), settings))
    assert "on group 'sp'" in message and "Read, Describe on group 'sp'" in message
    assert "hunter2" not in message  # never the password
