"""Fuzzing every API operation from the served OpenAPI document (schemathesis).

api.md: every error is `{"error": {"code", "message", "details"}}`, never a stack trace,
never a 500 for bad input. Schemathesis generates valid (positive) and invalid (negative)
requests for each operation in /openapi.json and calls the ASGI app in-process; each
answer is checked for: no 5xx, no traceback text, and every 4xx in the error format.

Three callers, because most code sits behind authentication: nobody, an admin (users,
keys, reference reload, jobs), and a department system's API key (collection, check).
Bounded for CI: CHENGXIN_FUZZ_EXAMPLES (default 12) examples per operation, mode and
caller, derandomised so a failure reproduces; raise it (and set CHENGXIN_FUZZ_RANDOM=1)
for a longer exploratory run.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis not installed "
                                   "(pip install schemathesis; it belongs in the test extras)")

from hypothesis import HealthCheck, Phase, given  # noqa: E402
from hypothesis import settings as hsettings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from sqlalchemy import text  # noqa: E402

from chengxin import clock  # noqa: E402
from chengxin.accounts import security  # noqa: E402
from chengxin.accounts.models import User  # noqa: E402
from tests.conftest import BACKEND  # noqa: E402

EXAMPLES = int(os.environ.get("CHENGXIN_FUZZ_EXAMPLES", "12"))
RANDOM = os.environ.get("CHENGXIN_FUZZ_RANDOM") == "1"
TRACE_MARKERS = ("Traceback", 'File "', "sqlalchemy.exc", "psycopg.errors")

# Operations not fuzzed, each for a reason:
EXCLUDED: dict[tuple[str, str], str] = {
    # Reloads every reference file from disk and rewrites the catalog tables: ~0.5 s a
    # call, and what it parses is our own YAML, not the request (it takes no input).
    ("POST", "/api/v1/reference/reload"): "no input; slow; covered by tests/reference",
    # Recomputes every person's score: a batch job (no input) whose cost grows with the
    # data, not a parser of requests.
    ("POST", "/api/v1/scores/recompute"): "no input; batch job; covered by tests/scoring",
}


def error_problem(status: int, body: bytes, content_type: str) -> str | None:
    """Why an answer breaks api.md's error rules, or None."""
    text_ = body.decode("utf-8", "replace")
    if status >= 500:
        return f"server error {status}"
    for marker in TRACE_MARKERS:
        if marker in text_:
            return f"stack trace text {marker!r} in the answer"
    if 400 <= status < 500:
        if "application/json" not in content_type:
            return f"{status} answered as {content_type!r}, not JSON"
        try:
            data = json.loads(body)
        except ValueError:
            return f"{status} body is not JSON"
        err = data.get("error") if isinstance(data, dict) else None
        if not (isinstance(data, dict) and set(data) == {"error"} and isinstance(err, dict)
                and isinstance(err.get("code"), str) and err["code"]
                and isinstance(err.get("message"), str) and err["message"]
                and isinstance(err.get("details"), list)):
            return f"{status} body not in the error format: {text_[:200]}"
    return None


def _token(rt, login: str) -> dict[str, str]:
    """A fresh token for the user's current token version (a fuzzed deactivation bumps
    it); minted directly: no password hashing, no lockout counter."""
    from sqlalchemy import select

    with rt.uow() as s:
        user = s.scalar(select(User).where(User.login == login))
        claims = security.TokenClaims(
            user_id=user.id, role=user.role, version=user.token_version,
            expires_at=int(clock.now().timestamp()) + 3600, token_id=secrets.token_hex(8))
    return {"Authorization": f"Bearer {security.sign_token(rt.keys.token_key, claims)}"}


def _heal(rt) -> None:
    """Undo what an admin's fuzzed calls may have done to the callers themselves
    (deactivated the admin, revoked the department key, locked an account), so every
    operation is fuzzed with working credentials."""
    with rt.engine.begin() as conn:
        conn.execute(text("UPDATE users SET active = :t, locked_until = NULL, "
                          "failed_attempts = 0"), {"t": True})
        conn.execute(text("UPDATE api_keys SET revoked_at = NULL"))
    rt.caches.pop("api_keys", None)


def _check(operation, case, headers: dict[str, str], label: str, failures: list[str]) -> None:
    where = f"{case.method.upper()} {operation.path} [{label}]"
    try:
        response = case.call(headers=headers)
    except Exception as exc:  # noqa: BLE001 - the in-process app raised: a 500
        problem = f"unhandled {type(exc).__name__} (a 500 in production)"
    else:
        content_type = response.headers.get("content-type", "")
        if isinstance(content_type, list):
            content_type = content_type[0] if content_type else ""
        problem = error_problem(response.status_code, response.content, content_type)
    if problem and len(failures) < 50:
        failures.append(f"{where}: {problem}\n    {case.as_curl_command(headers=headers)[:500]}")


def _coverage(schema, operation, headers: dict[str, str], failures: list[str]) -> None:
    """Schemathesis's deterministic boundary cases: lengths at and past each limit,
    wrong types, null, missing fields, and the other HTTP methods on each path."""
    from schemathesis import GenerationMode
    from schemathesis.config import GenerationConfig

    for case in schema.iter_coverage_cases(
            operation, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=GenerationConfig()):
        _check(operation, case, headers, "coverage", failures)


def _fuzz(operation, headers: dict[str, str], mode, failures: list[str]) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    @hsettings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
               phases=[Phase.explicit, Phase.generate], print_blob=False,
               suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        _check(operation, case, headers, mode.value, failures)

    try:
        run()
    except Unsatisfiable:
        # negative mode for an operation that takes no input: nothing to make invalid
        if mode.value != "negative":
            raise


@pytest.mark.slow
def test_fuzz_every_operation(app, rt, users):
    from schemathesis import GenerationMode

    users.add("fuzz-admin", "admin")
    key = users.api_key("410522-jyj")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 60  # the document really lists the API
    callers = {"anonymous": lambda: {}, "admin": lambda: _token(rt, "fuzz-admin"),
               "department_key": lambda: key}
    failures: list[str] = []
    timings: dict[str, float] = {}
    started = time.monotonic()
    fuzzed = 0
    for operation in operations:
        if (operation.method.upper(), operation.path) in EXCLUDED:
            continue
        t0 = time.monotonic()
        for headers_for in callers.values():
            _heal(rt)
            _coverage(schema, operation, headers_for(), failures)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _heal(rt)
                _fuzz(operation, headers_for(), mode, failures)
        timings[f"{operation.method.upper()} {operation.path}"] = time.monotonic() - t0
        fuzzed += 1
    elapsed = time.monotonic() - started
    slowest = sorted(timings.items(), key=lambda kv: -kv[1])[:5]
    print(f"\nfuzzed {fuzzed} operations x 3 callers x (coverage cases + 2 modes x "
          f"{EXAMPLES} examples) "
          f"on {BACKEND} in {elapsed:.1f} s; slowest: "
          + ", ".join(f"{k} {v:.1f}s" for k, v in slowest))
    assert not failures, "\n".join(failures)
    assert fuzzed >= 60


def test_excluded_operations_still_exist(app):
    """An exclusion that no longer matches an operation is stale: remove it."""
    paths = app.openapi()["paths"]
    for method, path in EXCLUDED:
        assert method.lower() in paths.get(path, {}), (method, path)
