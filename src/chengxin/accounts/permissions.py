"""The one place where roles meet actions.

Every route declares the permission it needs; this table says which roles hold it. The
role × endpoint test reads the same table, so a change here is a change to the tests.
"""

from __future__ import annotations

from chengxin.accounts.principal import Principal, Role
from chengxin.errors import Forbidden

A, V, R, U, I, T, S = (Role.ADMIN, Role.REVIEWER, Role.REPORTER, Role.AUDITOR,
                       Role.INDIVIDUAL, Role.THIRD_PARTY, Role.SYSTEM)

PERMISSIONS: dict[str, frozenset[Role]] = {
    # reference data
    "reference.reload": frozenset({A}),
    # accounts (the auditor may look, never change: separation of duties)
    "users.manage": frozenset({A}),
    "users.read": frozenset({A, U}),
    "apikeys.manage": frozenset({A}),
    # the audit log: only the auditor reads it; nobody writes it except the platform
    "audit.read": frozenset({U}),
    # own account
    "self.read": frozenset({A, V, R, U, I, T}),
    # the data subject's own routes (/me/...): individuals only
    "me.subject": frozenset({I}),
    # collection (reporters and systems act for their own department only)
    "records.write": frozenset({R, S}),
    "records.read": frozenset({A, V, R, S}),
    "holds.read": frozenset({A, V, R}),
    "holds.decide": frozenset({A, V}),
    "imports.write": frozenset({R, S}),
    "imports.read": frozenset({A, V, R, S}),
    "templates.read": frozenset({A, V, R, S}),
    # archives: staff of the credit office read; the supervising department determines
    "archives.read": frozenset({A, V}),
    "annual_status.write": frozenset({R, S}),
    "evidence.write": frozenset({A, V, R, S, I}),
    "evidence.read": frozenset({A, V, R, S, I}),  # and only one's own or one's department's
    "stats.read": frozenset({A, V, R, U}),
    # joint reward and punishment: department systems check; credit office keeps lists
    "check.run": frozenset({S}),
    "check.feedback": frozenset({S}),
    "lists.read": frozenset({A, V}),
    "lists.decide": frozenset({A, V}),
    # objections and repairs: the source department (checked in the service) or the office
    "objections.queue": frozenset({A, V, R, S}),
    "objections.decide": frozenset({A, V, R, S}),
    "repairs.queue": frozenset({A, V, R, S}),
    "repairs.decide": frozenset({A, V, R, S}),
    # unusual query patterns (one account reading many persons)
    "query_alerts.read": frozenset({A, V, U}),
    "query_alerts.resolve": frozenset({A, V}),
    # reports: the person, an authorised third party; PDFs for whoever a report was issued to
    "reports.request": frozenset({T}),
    "reports.read": frozenset({I, T}),
    # exchange: an upper-level platform's key pulls (its level is checked in the service);
    # lists published above arrive from the credit office
    "exchange.feed": frozenset({S}),
    "exchange.lists_import": frozenset({A, S}),
    # jobs an operator may trigger over the API
    "jobs.run": frozenset({A}),
}


def allowed(principal: Principal, permission: str) -> bool:
    return principal.role in PERMISSIONS[permission]


def ensure(principal: Principal, permission: str) -> None:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission}")  # a programming error
    if not allowed(principal, permission):
        raise Forbidden("无权执行此操作")


def ensure_department(principal: Principal, department_code: str) -> None:
    """Reporters and department systems act for their own department only; the credit
    office's roles act for all."""
    if principal.role in (Role.REPORTER, Role.SYSTEM) and principal.department_code != department_code:
        raise Forbidden("只能处理本部门负责的数据", code="other_department")
