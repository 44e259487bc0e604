"""Kafka connection security from the settings: the same SASL/TLS options for aiokafka and for Faust.

KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SSL_CAFILE
(streams/settings.py, which checks their combination) become:

* `aiokafka_options(settings)`: keyword arguments for AIOKafkaConsumer, AIOKafkaProducer and
  AIOKafkaAdminClient (`security_protocol`, `sasl_mechanism`, `sasl_plain_username`, `sasl_plain_password`,
  `ssl_context`);
* `faust_credentials(settings)`: `faust.App(broker_credentials=...)`, which Faust's aiokafka driver turns into
  the same keyword arguments (faust.transport.drivers.aiokafka.credentials_to_aiokafka_auth).

aiokafka logs every request and response at DEBUG, a SASL PLAIN one with the password in it: importing this
module puts a filter on the "aiokafka.conn" logger that blanks the SASL exchange out of those records.

With TLS (SSL, SASL_SSL) the broker's certificate is checked against KAFKA_SSL_CAFILE, or the system's CAs
when it is unset, and its host name is checked too (aiokafka.helpers.create_ssl_context).
"""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING, Any

from aiokafka.helpers import create_ssl_context

from streams.settings import Settings

if TYPE_CHECKING:
    import faust

SASL_REDACTED = "<SASL exchange redacted>"


class RedactSasl(logging.Filter):
    """Blanks the SASL request and response objects out of aiokafka.conn's DEBUG records (the password of
    SASL PLAIN travels in SaslAuthenticateRequest's bytes); every other record passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(_is_sasl(arg) for arg in record.args):
            record.args = tuple(SASL_REDACTED if _is_sasl(arg) else arg for arg in record.args)
        return True


def _is_sasl(arg: object) -> bool:
    name = type(arg).__name__  # SaslHandShakeRequest_v1, SaslAuthenticateResponse_v0, ...
    return (name.startswith("Sasl") and ("Request" in name or "Response" in name)) or (
        isinstance(arg, str) and "sasl_auth_bytes" in arg)


REDACT_SASL = RedactSasl()
logging.getLogger("aiokafka.conn").addFilter(REDACT_SASL)  # addFilter adds it once, however often imported


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for SSL and SASL_SSL (None without TLS); a new one on each call."""
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    cafile = str(settings.ssl_cafile) if settings.ssl_cafile is not None else None
    context: ssl.SSLContext = create_ssl_context(cafile=cafile)
    return context


def aiokafka_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for aiokafka's consumer, producer and admin client: `AIOKafkaProducer(**options)`."""
    protocol = settings.security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL_"):
        options.update(sasl_mechanism=settings.sasl_mechanism, sasl_plain_username=settings.sasl_username,
                       sasl_plain_password=settings.sasl_password)
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    return options


def faust_credentials(settings: Settings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """What `faust.App(broker_credentials=...)` takes; None for PLAINTEXT (Faust's default)."""
    import faust  # here: importing Faust is slow, and the admin helper needs only aiokafka_options

    protocol = settings.security_protocol
    if protocol.startswith("SASL_"):
        # SASLCredentials is SASL_PLAINTEXT without an ssl_context and SASL_SSL with one.
        return faust.SASLCredentials(username=settings.sasl_username, password=settings.sasl_password,
                                     mechanism=settings.sasl_mechanism, ssl_context=ssl_context(settings))
    if protocol == "SSL":
        # The context is built here: SSLCredentials() without one cannot build its own (faust/auth.py).
        return faust.SSLCredentials(ssl_context(settings))
    return None

