from __future__ import annotations

import shutil

import yaml
from sqlalchemy import select

from chengxin.reference.models import Measure


def test_catalog_has_api_fields(client):
    items = client.get("/api/v1/catalog").json()
    assert len(items) >= 20
    for item in items:
        assert {"code", "name", "category", "polarity", "severity", "visibility",
                "display_months", "fields", "list"} <= set(item)
        assert item["polarity"] in ("positive", "negative", "neutral")
        assert item["severity"] in ("minor", "general", "serious", None)
        assert item["visibility"] in ("public", "authorized", "internal")
        assert item["list"] in ("black", "red", None)
    assert {i["list"] for i in items} >= {"black", "red"}


def test_groups_with_responsible_departments(client):
    groups = client.get("/api/v1/groups").json()
    depts = {d["code"]: d for d in client.get("/api/v1/departments").json()}
    assert len(groups) >= 22
    by_name = {g["name"]: g for g in groups}
    assert depts[by_name["教师"]["department_code"]]["short_name"] == "县教育局"
    assert depts[by_name["医师"]["department_code"]]["short_name"] == "县卫健委"
    for g in groups:
        assert g["department_code"] in depts
        assert g["cadence"] in ("monthly", "quarterly", "yearly")


def test_departments_hierarchy(client):
    depts = {d["code"]: d for d in client.get("/api/v1/departments").json()}
    county = [d for d in depts.values() if d["level"] == "county" and d["is_credit_office"]]
    assert county
    city = depts[county[0]["parent"]]
    assert city["level"] == "city"
    assert depts[city["parent"]]["level"] == "province"


def test_measures_and_scenarios_served(client):
    measures = client.get("/api/v1/measures").json()
    scenarios = {s["code"] for s in client.get("/api/v1/scenarios").json()}
    assert len(measures) >= 20 and len(scenarios) >= 10
    assert all(m["legal_basis"] for m in measures)
    assert {m["kind"] for m in measures} == {"punish", "reward"}
    assert all(set(m["scenarios"]) <= scenarios for m in measures)


def test_reload_is_admin_only_and_idempotent(client, users):
    users.add("refadmin", "admin")
    users.add("refreviewer", "reviewer")
    assert client.post("/api/v1/reference/reload", headers=users.headers("refreviewer")).status_code == 403
    r = client.post("/api/v1/reference/reload", headers=users.headers("refadmin"))
    assert r.status_code == 200
    loaded = r.json()["loaded"]
    assert all(v["added"] == 0 and v["changed"] == 0 for v in loaded.values()), loaded


def test_reload_from_changed_files_deactivates_removed_rows(rt, tmp_path):
    from chengxin.accounts.principal import cli_principal
    from chengxin.reference.loader import load_reference

    shutil.copytree(rt.settings.reference_dir, tmp_path / "data")
    path = tmp_path / "data" / "measures.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    removed = doc["measures"].pop()["code"]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with rt.uow() as s:
        counts = load_reference(s, tmp_path / "data", actor=cli_principal())
    assert counts["measures"]["changed"] == 1
    with rt.uow() as s:
        assert s.scalar(select(Measure.active).where(Measure.code == removed)) is False


def test_bad_reference_file_changes_nothing(rt, tmp_path):
    import pytest

    from chengxin.accounts.principal import cli_principal
    from chengxin.reference.loader import load_reference
    from chengxin.reference.schemas import ReferenceDataError

    shutil.copytree(rt.settings.reference_dir, tmp_path / "data")
    path = tmp_path / "data" / "measures.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["measures"][0]["legal_basis"] = ""
    code = doc["measures"][0]["code"]
    doc["measures"][1]["name"] = "改过的名称"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=code), rt.uow() as s:
        load_reference(s, tmp_path / "data", actor=cli_principal())
    with rt.uow() as s:
        assert s.scalar(select(Measure.name).where(Measure.code == doc["measures"][1]["code"])) != "改过的名称"
