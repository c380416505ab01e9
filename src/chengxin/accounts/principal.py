"""Who is acting: a signed-in person, a department system's key, the system itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # credit office: reference data, users, publication
    REVIEWER = "reviewer"  # credit office: objections, repairs, list approvals
    REPORTER = "reporter"  # a department's staff: submits its groups' records
    AUDITOR = "auditor"  # reads the audit log, changes nothing
    INDIVIDUAL = "individual"  # the data subject
    THIRD_PARTY = "third_party"  # employer, bank: authorised queries only
    SYSTEM = "system"  # a department's business system (API key)
    PUBLIC = "public"  # nobody signed in


USER_ROLES = [r.value for r in Role if r not in (Role.SYSTEM, Role.PUBLIC)]
STAFF_ROLES = frozenset({Role.ADMIN, Role.REVIEWER, Role.REPORTER, Role.AUDITOR})


@dataclass(frozen=True)
class Principal:
    kind: str  # user | api_key | system | public
    role: Role
    id: str | None = None
    department_code: str | None = None
    person_id: int | None = None
    label: str = ""
    organization: str | None = None
    # A staff account that must enrol a TOTP factor before anything else
    # (CHENGXIN_REQUIRE_TOTP_FOR_STAFF): deps.require refuses it every permission.
    totp_pending: bool = False

    @property
    def name(self) -> str:
        """How the actor is written into history rows (versions, states, events)."""
        return self.label or str(self.id)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


SYSTEM_PRINCIPAL = Principal(kind="system", role=Role.ADMIN, id="system", label="system")
PUBLIC_PRINCIPAL = Principal(kind="public", role=Role.PUBLIC, label="public")


def cli_principal(label: str = "cli") -> Principal:
    """The operator at the server's console: trusted like an admin, audited by name."""
    return Principal(kind="system", role=Role.ADMIN, id=label, label=label)
