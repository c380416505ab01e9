from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    # the current code of the second factor, for accounts that have enabled one
    totp: str | None = Field(default=None, max_length=12)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    # true when the account must enrol a second factor before doing anything else
    totp_enrolment_required: bool = False


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    role: str
    department: str | None = Field(default=None, max_length=64)
    id_number: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=100)
    organization: str | None = Field(default=None, max_length=200)


class UserOut(BaseModel):
    id: int
    login: str
    role: str
    department: str | None
    active: bool
    organization: str | None = None


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=100)


class ApiKeyOut(BaseModel):
    id: int
    prefix: str
    department: str
    name: str
    created_at: str
    revoked: bool
    key: str | None = None  # only in the answer that creates it
