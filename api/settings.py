"""The service's settings: the environment variables of API.md, read once."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from smsledger.ledger.mail import (
    DEFAULT_MAIL_FROM,
    DEFAULT_MAILDIR,
    Transport,
    transport,
)
from smsledger.ledger.sealing import Sealer
from smsledger.ledger.secret import DEFAULT_SECRET_KEY_FILE, load_secret_key
from smsledger.ledger.sms import DEFAULT_TWILIO_API_URL
from smsledger.ledger.storage import DEFAULT_DATABASE_URL


class Settings(BaseSettings):
    # An empty variable counts as unset: `ADMIN_TOKEN= scripts/serve` disables admin.
    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    admin_token: SecretStr | None = None
    smtp_url: SecretStr | None = None
    mail_from: str = DEFAULT_MAIL_FROM
    # Where mails go without SMTP_URL.
    maildir: str = DEFAULT_MAILDIR
    # `serve` runs `smsledger deliver` beside the server, as a child process;
    # off when `smsledger deliver` processes are run on their own instead.
    delivery_worker: bool = True
    # Worker threads of each delivery process: a mail is mostly waiting on
    # the database and the mail server, so several overlap (docs/PERFORMANCE.md).
    delivery_concurrency: int = Field(default=4, ge=1, le=64)
    # One log line per request; off for load tests, where it costs CPU.
    access_log: bool = True
    # `json`: one JSON object a line, for a log collector.
    log_format: Literal["text", "json"] = "text"
    # /metrics and the request timings behind it; off only to measure their cost.
    metrics: bool = True
    # Where the worker processes keep their counts for /metrics to add up;
    # prometheus_client reads it too. Unset, `serve` makes one for its run.
    prometheus_multiproc_dir: str | None = None
    # Hot standbys, comma-separated: the reads that may lag go to them.
    database_replica_url: SecretStr | None = None
    # How long a read that names `min_position` waits for a standby to replay
    # that far before it goes to the primary.
    replica_wait_seconds: float = Field(default=0.5, ge=0, le=10)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_base_url: str | None = None
    # Twilio's REST API, which replies are sent through; tests point it at a
    # stand-in on loopback.
    twilio_api_url: str = DEFAULT_TWILIO_API_URL
    workers: int = Field(
        default=1, ge=1, validation_alias=AliasChoices("WORKERS", "WEB_CONCURRENCY")
    )
    # Larger bodies are refused with 413 before they are parsed.
    max_body_bytes: int = 256 * 1024
    # POST /v1/imports reads its body as a stream, up to this.
    max_import_bytes: int = 64 * 1024 * 1024
    # How far past this server's clock an `occurred_at` or `received_at` may
    # be: a clock a little fast is no error, a date in the future is.
    max_future_seconds: int = Field(default=300, ge=0)
    # Signs sessions and links, encrypts provider secrets; see `secret`.
    secret_key: SecretStr | None = None
    secret_key_file: str = DEFAULT_SECRET_KEY_FILE
    # Keys replaced by SECRET_KEY, comma-separated: provider secrets sealed
    # with them still open until `smsledger secrets rotate` reseals them.
    secret_key_previous: SecretStr | None = None
    # Fair use (see api/ratelimit.py and docs/OPERATIONS.md): each worker
    # process enforces these on its own; 0 turns a limit off.
    # Writes per API key per window: far above what one worker can serve.
    write_limit: int = Field(default=50_000, ge=0)
    write_limit_window: int = Field(default=10, ge=1)
    # What-if, replay, contact histories and long listings, per account.
    expensive_limit: int = Field(default=60, ge=0)
    expensive_limit_window: int = Field(default=60, ge=1)
    expensive_concurrency: int = Field(default=2, ge=0)
    # A listing that asks for more items than this counts as expensive.
    long_listing: int = Field(default=100, ge=0)
    alert_streams_per_key: int = Field(default=50, ge=0)
    alert_streams_per_user: int = Field(default=5, ge=0)

    def replica_urls(self) -> list[str]:
        given = self.database_replica_url
        urls = given.get_secret_value().split(",") if given else []
        return [url.strip() for url in urls if url.strip()]

    def secret(self, create: bool = True) -> str:
        """SECRET_KEY, or the one kept under ./var/ (made on first use, unless
        `create` is false: then a missing file is FileNotFoundError)."""
        given = self.secret_key.get_secret_value() if self.secret_key else None
        return load_secret_key(given, self.secret_key_file, create)

    def previous_secrets(self) -> list[str]:
        """SECRET_KEY_PREVIOUS, split on commas; empty if unset."""
        given = self.secret_key_previous
        raw = given.get_secret_value() if given else ""
        return [key.strip() for key in raw.split(",") if key.strip()]

    def mail_transport(self) -> Transport:
        """SMTP_URL's server, or the Maildir."""
        smtp_url = self.smtp_url.get_secret_value() if self.smtp_url else None
        return transport(smtp_url, self.maildir)

    def sealer(self, create: bool = True) -> Sealer:
        """Seals provider secrets with `secret()`, opens them with it or a previous."""
        return Sealer(self.secret(create), self.previous_secrets())
