from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from chengxin.db import Base, BigId, UTCDateTime


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), unique=True)
    organization: Mapped[str | None] = mapped_column(String(200))  # a third party's employer
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Bumped on password change or deactivation: tokens carry it and die with it.
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Second factor (TOTP, RFC 6238): the base32 secret, encrypted with the field cipher
    # (context "user.totp"); enabled only once the user has proved they hold it.
    totp_secret_enc: Mapped[str | None] = mapped_column(String(200))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Last authenticated request, for the idle timeout (accounts/sessions.py).
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ApiKey(Base):
    """A department system's key. Only a hash is kept; the key is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
