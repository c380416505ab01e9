"""The policy table (data/policy.yaml): validated once, read everywhere."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chengxin.dates import add_months

Severity = Literal["minor", "general", "serious"]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_M):
    min: int = Field(ge=0, le=120)
    max: int = Field(ge=0, le=120)


class Regime(_M):
    code: str
    name: str
    from_: dt.date = Field(alias="from")
    periods: dict[Severity, Period]


class Display(_M):
    regimes: list[Regime] = Field(min_length=1)
    legacy_max_months: int = Field(ge=0, le=120)
    upper_bound_months: int = Field(ge=1, le=120)
    public_min_age: int = Field(ge=14, le=18)


class Objections(_M):
    decide_workdays: int = Field(ge=1, le=60)
    review_workdays: int = Field(ge=1, le=60)
    max_workdays: int = Field(ge=1, le=60)


class Repairs(_M):
    decide_workdays: int = Field(ge=1, le=60)
    methods: dict[str, str]
    excluded_items: list[str]
    commitment_template: str


class QueryLogPolicy(_M):
    retention_months: int
    alert_window_minutes: int = Field(ge=1)
    alert_distinct_persons: int = Field(ge=2)
    third_party_per_minute: int = Field(ge=1)

    @field_validator("retention_months")
    @classmethod
    def _at_least_six(cls, v: int) -> int:
        if v < 6:
            raise ValueError("query log retention may not be below 6 months (网络安全法 art. 21)")
        return v


class Notices(_M):
    statement_days: int = Field(ge=1, le=60)


class Policy(_M):
    version: Literal[1]
    display: Display
    objections: Objections
    repairs: Repairs
    query_log: QueryLogPolicy
    notices: Notices

    def regime_for(self, decision_date: dt.date) -> Regime | None:
        for regime in sorted(self.display.regimes, key=lambda r: r.from_, reverse=True):
            if decision_date >= regime.from_:
                return regime
        return None

    def display_until(self, decision_date: dt.date, severity: str | None,
                      item_months: int | None) -> dt.date | None:
        """End of display: the item's period, clamped to the regime's maximum and the
        upper bound. None: never displayed (no period)."""
        if not item_months:
            return None
        regime = self.regime_for(decision_date)
        cap = self.display.upper_bound_months
        if regime is None:
            cap = min(cap, self.display.legacy_max_months)
        elif severity in regime.periods:
            cap = min(cap, regime.periods[severity].max)  # type: ignore[index]
        months = min(item_months, cap)
        return add_months(decision_date, months) if months > 0 else None

    def repair_earliest(self, decision_date: dt.date, severity: str | None) -> dt.date:
        """When early termination may be applied for: after the regime's minimum period."""
        regime = self.regime_for(decision_date)
        months = 0
        if regime is not None and severity in regime.periods:
            months = regime.periods[severity].min  # type: ignore[index]
        return add_months(decision_date, months)


class PolicyError(ValueError):
    pass


def load_policy(path: Path) -> Policy:
    try:
        return Policy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path.name}: cannot read: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise PolicyError(f"{path.name}: {problems}") from exc


@functools.lru_cache(maxsize=4)
def policy_from(directory: str) -> Policy:
    return load_policy(Path(directory) / "policy.yaml")
