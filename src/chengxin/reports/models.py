from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chengxin.db import Base, BigId, Json, UTCDateTime


class IssuedReport(Base):
    """Every report issued, exactly as issued: what was shown, to whom and when."""

    __tablename__ = "issued_reports"

    report_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # personal | occupational
    audience: Mapped[str] = mapped_column(String(16))  # self | third_party | staff
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    issued_to: Mapped[str] = mapped_column(String(100))
    issued_to_key: Mapped[str] = mapped_column(String(80))  # kind:id of the requester
    organization: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(String(200))
    authorization_id: Mapped[int | None] = mapped_column(BigId)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    code_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(Json)
    signature: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(40))
