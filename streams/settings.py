"""Settings: read once from the environment into a frozen object; a bad value names its key."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from streams.core.lexicon import DEFAULT_LEXICON_DIR

GUARANTEES = ("at_least_once", "exactly_once")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LEXICON_SOURCES = ("topic", "files")  # topic: follow the lexicon topic (the files until it holds a version)
SECURITY_PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class SettingsError(ValueError):
    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        super().__init__(f"setting {key}: {problem}")


@dataclass(frozen=True, slots=True)
class Settings:
    bootstrap_servers: str = "localhost:9092"
    app_id: str = "signpost"
    events_topic: str = "search-events"
    decisions_topic: str = "intercept-decisions"
    dlq_topic: str = "search-events-dlq"
    counters_topic: str = "condition-counters"
    web_port: int = 6066
    web_host: str = "127.0.0.1"  # the web server's bind address; the container image sets 0.0.0.0
    processing_guarantee: str = "at_least_once"
    lexicon_dir: Path = DEFAULT_LEXICON_DIR
    lexicon_topic: str = "signpost-lexicon"
    lexicon_source: str = "topic"
    lexicon_overlay: Path | None = None
    partitions: int = 4
    replication_factor: int | None = None  # of the topics the worker creates; None: min(3, brokers in the cluster)
    batch_size: int = 1000
    batch_window_ms: int = 5
    decision_cache: int = 65_536  # decisions remembered for repeated searches (streams/core/remembered.py); 0: none
    log_level: str = "WARNING"
    data_dir: Path = Path(".signpost-data")
    counter_window_s: int = 60
    counter_grace_s: int = 10
    k_anonymity: int = 10
    dp_epsilon: float | None = None
    user_hash_key: str | None = None
    failed_start_linger_s: int = 15
    # Kafka connection security (streams/kafka_security.py turns these into aiokafka's and Faust's options).
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)  # never in a repr, a log or an error
    ssl_cafile: Path | None = None

    def __post_init__(self) -> None:
        _check_security(self)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            key = _ENV[f.name]
            raw = env.get(key)
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(key, f.name, raw)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def counter_updates_topic(self) -> str:
        """The internal topic of partial counter cells (the app id as prefix, like Faust's own topics)."""
        return f"{self.app_id}-counter-updates"

    @property
    def counter_cells_topic(self) -> str:
        """The counters' merged cells, compacted: the merge's changelog, one partition per updates partition."""
        return f"{self.app_id}-counter-cells"

    def as_env(self) -> dict[str, str]:
        """The environment that gives these settings (for subprocesses; holds the user hash key if set)."""
        return {_ENV[f.name]: str(v) for f in fields(self) if (v := getattr(self, f.name)) is not None}


_ENV = {
    "bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "app_id": "SIGNPOST_APP_ID",
    "events_topic": "SIGNPOST_EVENTS_TOPIC",
    "decisions_topic": "SIGNPOST_DECISIONS_TOPIC",
    "dlq_topic": "SIGNPOST_DLQ_TOPIC",
    "counters_topic": "SIGNPOST_COUNTERS_TOPIC",
    "web_port": "SIGNPOST_WEB_PORT",
    "web_host": "SIGNPOST_WEB_HOST",
    "processing_guarantee": "SIGNPOST_PROCESSING_GUARANTEE",
    "lexicon_dir": "SIGNPOST_LEXICON_DIR",
    "lexicon_topic": "SIGNPOST_LEXICON_TOPIC",
    "lexicon_source": "SIGNPOST_LEXICON_SOURCE",
    "lexicon_overlay": "SIGNPOST_LEXICON_OVERLAY",
    "partitions": "SIGNPOST_PARTITIONS",
    "replication_factor": "SIGNPOST_REPLICATION_FACTOR",
    "batch_size": "SIGNPOST_BATCH_SIZE",
    "batch_window_ms": "SIGNPOST_BATCH_WINDOW_MS",
    "decision_cache": "SIGNPOST_DECISION_CACHE",
    "log_level": "SIGNPOST_LOG_LEVEL",
    "data_dir": "SIGNPOST_DATA_DIR",
    "counter_window_s": "SIGNPOST_COUNTER_WINDOW_S",
    "counter_grace_s": "SIGNPOST_COUNTER_GRACE_S",
    "k_anonymity": "SIGNPOST_K_ANONYMITY",
    "dp_epsilon": "SIGNPOST_DP_EPSILON",
    "user_hash_key": "SIGNPOST_USER_HASH_KEY",
    "failed_start_linger_s": "SIGNPOST_FAILED_START_LINGER_S",
    "security_protocol": "KAFKA_SECURITY_PROTOCOL",
    "sasl_mechanism": "KAFKA_SASL_MECHANISM",
    "sasl_username": "KAFKA_SASL_USERNAME",
    "sasl_password": "KAFKA_SASL_PASSWORD",
    "ssl_cafile": "KAFKA_SSL_CAFILE",
}

_INTS = {"web_port": (1, 65535), "partitions": (1, 1024), "replication_factor": (1, 32),
         "batch_size": (1, 100_000), "batch_window_ms": (0, 10_000), "decision_cache": (0, 10_000_000),
         "counter_window_s": (1, 86_400), "counter_grace_s": (0, 86_400), "k_anonymity": (1, 1_000_000),
         "failed_start_linger_s": (0, 600)}
# settings that take one of a few values: the values, and whether they are read whatever their case
_CHOICES: dict[str, tuple[tuple[str, ...], bool]] = {
    "processing_guarantee": (GUARANTEES, False), "lexicon_source": (LEXICON_SOURCES, False),
    "log_level": (LOG_LEVELS, True), "security_protocol": (SECURITY_PROTOCOLS, True),
    "sasl_mechanism": (SASL_MECHANISMS, True),
}
_TOPICS = {"events_topic", "decisions_topic", "dlq_topic", "counters_topic", "lexicon_topic", "app_id"}


def _parse(key: str, name: str, raw: str) -> object:
    if name in _INTS:
        low, high = _INTS[name]
        try:
            number = int(raw)
        except ValueError:
            raise SettingsError(key, f"{raw!r} is not an integer") from None
        if not low <= number <= high:
            raise SettingsError(key, f"{number} is outside {low}..{high}")
        return number
    if name == "dp_epsilon":
        try:
            epsilon = float(raw)
        except ValueError:
            raise SettingsError(key, f"{raw!r} is not a number") from None
        if not 0 < epsilon <= 100:
            raise SettingsError(key, f"{epsilon} is outside (0, 100]")
        return epsilon
    if name == "user_hash_key":
        if len(raw) < 16:
            raise SettingsError(key, "must be at least 16 characters (it keys the hash of user ids)")
        return raw
    if name in _CHOICES:
        allowed, case_blind = _CHOICES[name]
        value = raw.upper() if case_blind else raw
        if value not in allowed:
            raise SettingsError(key, f"{raw!r} is not one of {', '.join(allowed)}")
        return value
    if name == "sasl_password":
        return raw  # never echoed: a message about it names the key only
    if name == "ssl_cafile":
        if not Path(raw).is_file():
            raise SettingsError(key, f"{raw!r} is not a readable file (the CA certificates, PEM)")
        return Path(raw)
    if name == "web_host":
        try:
            ipaddress.ip_address(raw)
        except ValueError:
            raise SettingsError(key, f"{raw!r} is not an IP address to bind (127.0.0.1, 0.0.0.0, ::)") from None
        return raw
    if name == "lexicon_overlay":
        if not Path(raw).is_dir():
            raise SettingsError(key, f"{raw!r} is not a folder (a deployment overlay, see lexicon/FORMAT.md)")
        return Path(raw)
    if name in ("lexicon_dir", "data_dir"):
        return Path(raw)
    if name == "bootstrap_servers":
        for server in raw.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise SettingsError(key, f"{server!r} is not host:port")
        return raw
    if name in _TOPICS and (not all(c.isalnum() or c in "._-" for c in raw) or len(raw) > 249):
        raise SettingsError(key, f"{raw!r} is not a valid Kafka topic/group name")
    return raw


def _check_security(s: Settings) -> None:
    """The Kafka security settings together: a message names the key to set or unset, never a password."""
    protocol = s.security_protocol
    if protocol not in SECURITY_PROTOCOLS:
        raise SettingsError(_ENV["security_protocol"],
                            f"{protocol!r} is not one of {', '.join(SECURITY_PROTOCOLS)}")
    if protocol.startswith("SASL_"):
        if s.sasl_mechanism is None:
            raise SettingsError(_ENV["sasl_mechanism"],
                                f"is required with KAFKA_SECURITY_PROTOCOL={protocol} "
                                f"(one of {', '.join(SASL_MECHANISMS)})")
        if s.sasl_mechanism not in SASL_MECHANISMS:
            raise SettingsError(_ENV["sasl_mechanism"],
                                f"{s.sasl_mechanism!r} is not one of {', '.join(SASL_MECHANISMS)}")
        if not s.sasl_username:
            raise SettingsError(_ENV["sasl_username"], f"is required with KAFKA_SECURITY_PROTOCOL={protocol}")
        if not s.sasl_password:
            raise SettingsError(_ENV["sasl_password"], f"is required with KAFKA_SECURITY_PROTOCOL={protocol}")
    else:
        for name in ("sasl_mechanism", "sasl_username", "sasl_password"):
            if getattr(s, name) is not None:
                raise SettingsError(_ENV["security_protocol"],
                                    f"is {protocol}, which uses no SASL, but {_ENV[name]} is set: "
                                    "use SASL_PLAINTEXT or SASL_SSL, or unset it")
    if s.ssl_cafile is not None and protocol not in ("SSL", "SASL_SSL"):
        raise SettingsError(_ENV["ssl_cafile"],
                            f"is set, but KAFKA_SECURITY_PROTOCOL={protocol} uses no TLS (SSL or SASL_SSL)")
