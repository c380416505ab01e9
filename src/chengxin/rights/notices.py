"""信用告知 notices: always an in-app inbox; SMS or e-mail through pluggable senders.

Senders run after the notice is stored (in the same transaction only the inbox row is
written); a sender that fails marks its delivery failed and never loses the notice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.rights.models import Notice

log = logging.getLogger("chengxin.notices")


class Sender(Protocol):
    channel: str

    def send(self, notice: Notice) -> None: ...


class InboxSender:
    """The inbox is the notice itself: delivery is storing it."""

    channel = "inbox"

    def send(self, notice: Notice) -> None:
        return None


_SENDERS: list[Sender] = [InboxSender()]


def register_sender(sender: Sender) -> None:
    """Add an SMS or e-mail backend (a deployment's plug-in)."""
    _SENDERS.append(sender)


def notify(session: Session, person_id: int, *, kind: str, title: str, body: str,
           object_type: str | None = None, object_id: str | int | None = None,
           respond_by: dt.date | None = None) -> Notice:
    notice = Notice(person_id=person_id, kind=kind, title=title, body=body,
                    object_type=object_type, object_id=None if object_id is None else str(object_id),
                    respond_by=respond_by, created_at=clock.now(), deliveries=[])
    session.add(notice)
    session.flush()
    deliveries = []
    for sender in _SENDERS:
        try:
            sender.send(notice)
            deliveries.append({"channel": sender.channel, "status": "sent"})
        except Exception as exc:  # noqa: BLE001 - a backend failure must not lose the notice
            log.warning("notice %s: %s delivery failed: %s", notice.id, sender.channel,
                        type(exc).__name__)
            deliveries.append({"channel": sender.channel, "status": "failed"})
    notice.deliveries = deliveries
    return notice


def notify_many(session: Session, notices: Sequence[dict[str, Any]], *,
                deliver: bool = False) -> None:
    """Bulk inbox notices (collection of many records at once): one COPY / executemany.
    `deliver`: the notices go through the registered senders as notify() sends them; while
    the inbox is the only one (it sends nothing), that is still one bulk insert."""
    from chengxin.bulk import insert_dicts

    if not notices:
        return
    if deliver and any(not isinstance(s, InboxSender) for s in _SENDERS):
        for n in notices:
            notify(session, n["person_id"], **{k: v for k, v in n.items() if k != "person_id"})
        return
    now = clock.now()
    defaults = {"created_at": now, "deliveries": [{"channel": "inbox", "status": "sent"}],
                "object_type": None, "object_id": None, "respond_by": None, "read_at": None}
    insert_dicts(session, Notice, [{**defaults, **n} for n in notices])


def notice_dict(n: Notice) -> dict[str, Any]:
    return {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body,
            "object_type": n.object_type, "object_id": n.object_id,
            "respond_by": n.respond_by.isoformat() if n.respond_by else None,
            "created_at": n.created_at.isoformat(),
            "read": n.read_at is not None, "deliveries": n.deliveries}
