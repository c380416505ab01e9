"""One settings object for the whole platform, read from CHENGXIN_* variables.

An optional file (CHENGXIN_CONFIG_FILE, dotenv format) can hold the same names; the
environment wins over the file. Secrets never live here in clear by default: they are
read from the key file that `chengxin init` generates (see keys.py).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'chengxin.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CHENGXIN_",
        env_file=os.environ.get("CHENGXIN_CONFIG_FILE") or None,
        env_file_encoding="utf-8",
        extra="ignore",
    )

    database_url: str = Field(default_factory=_default_database_url)
    key_file: Path = Field(default_factory=lambda: Path.cwd() / "chengxin-keys.json")
    # Secrets may also come straight from the environment (e.g. a secrets manager);
    # each overrides the key file's value. Base64 (urlsafe) text.
    token_key: str | None = None
    field_key: str | None = None
    blind_index_key: str | None = None
    signing_key: str | None = None  # Ed25519 private key, raw 32 bytes, base64

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    public_url: str | None = None
    # This platform's id in the exchange (default: the code of its lowest credit office).
    platform_id: str | None = None

    # The check path keeps a person's facts this long; another worker process's write is
    # seen within it (this process's own writes at once). 0: read them on every check.
    check_cache_seconds: float = Field(default=1.0, ge=0, le=60)

    token_ttl_minutes: int = Field(default=30, ge=1, le=24 * 60)
    lockout_threshold: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    password_min_length: int = Field(default=10, ge=8, le=128)
    # 等保 level 3 idle timeout: a person's session with no request for this long is over
    # even if its token has not expired (0 switches it off). accounts/sessions.py.
    session_idle_minutes: int = Field(default=15, ge=0, le=24 * 60)
    # Staff (admin, reviewer, reporter, auditor) must sign in with a TOTP second factor;
    # until they have enrolled, their session may only enrol. Off for the demo; turn it
    # on in production (等保 level 3: two factors, one cryptographic). accounts/totp.py.
    require_totp_for_staff: bool = False

    data_dir: Path | None = None  # reference data; default: the files shipped in the package
    storage_dir: Path = Field(default_factory=lambda: Path.cwd() / "var")
    max_upload_mb: int = Field(default=100, ge=1, le=4096)
    demo_mode: bool = False
    # Identity verification for online registration: "demo" (demo mode only), "disabled",
    # or a provider a deployment registers. Default: demo in demo mode, else disabled.
    identity_provider: str | None = None
    log_level: str = "INFO"
    timezone: str = "Asia/Shanghai"

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("CHENGXIN_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would pick psycopg2.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def reference_dir(self) -> Path:
        return self.data_dir or Path(__file__).parent / "data"

    def address(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"
