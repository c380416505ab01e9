"""The shipped reference data files load, validate and match the seeds."""

from __future__ import annotations

import pathlib
import shutil

import pytest
import yaml

import chengxin
from chengxin.reference.schemas import ReferenceData, ReferenceDataError, load_reference_files

DATA_DIR = pathlib.Path(chengxin.__file__).parent / "data"

# seed 002 (安县信用办〔2022〕5号) 三(三) 责任分工, in table order.
ANYANG_GROUPS = [
    ("公务员", "县委组织部"),
    ("企业法定代表人及相关责任人", "县市场监管局"),
    ("驾驶员", "县交通运输局"),
    ("律师", "县司法局"),
    ("教师", "县教育局"),
    ("医师", "县卫健委"),
    ("执业药师", "县市场监管局"),
    ("家政服务从业人员", "县人社局"),
    ("评估师", "县财政局"),
    ("税务师", "县(示范区)税务局"),
    ("食药安全员", "县市场监管局"),
    ("招投标代理机构从业人员", "县发改委"),
    ("注册消防工程师", "县消防救援大队"),
    ("会计人员", "县财政局"),
    ("审计人员", "县审计局"),
    ("房地产中介从业人员", "县住建局"),
    ("认证人员", "县市场监管局"),
    ("金融从业人员", "县金融办"),
    ("导游", "县文广体旅局"),
    ("护工", "县民政局"),
    ("劳动用工", "县人社局"),
    ("社会保障", "县人社局"),
]


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return load_reference_files(DATA_DIR)


def test_counts(ref: ReferenceData) -> None:
    assert len(ref.groups) >= 22
    assert len(ref.measures) >= 20
    assert len(ref.scenarios) >= 10
    assert len(ref.catalog) >= 20


def test_anyang_groups_in_order_with_seed_departments(ref: ReferenceData) -> None:
    depts = ref.departments_by_code()
    got = [(g.name, depts[g.department_code].short_name) for g in ref.groups[:22]]
    assert got == ANYANG_GROUPS
    for g in ref.groups[:22]:
        assert g.source.startswith("seed 002")
        assert depts[g.department_code].region_code == "410522"


def test_other_seed_groups_present(ref: ReferenceData) -> None:
    names = {g.name for g in ref.groups}
    expected = ("科研人员", "新闻媒体从业人员", "保险从业人员", "事业单位工作人员", "统计从业人员")
    for name in expected:
        assert name in names


def test_every_group_department_exists(ref: ReferenceData) -> None:
    depts = ref.departments_by_code()
    for g in ref.groups:
        assert g.department_code in depts
        assert g.department_code in g.departments
        assert all(code in depts for code in g.departments)


def test_department_hierarchy(ref: ReferenceData) -> None:
    office = ref.credit_office("410522")
    assert office is not None and office.short_name == "县信用办"
    levels = [d.level for d in ref.ancestors(office.code)]
    assert levels == ["city", "province"]
    assert all(d.is_credit_office for d in ref.ancestors(office.code))


def test_measures(ref: ReferenceData) -> None:
    scenarios = ref.scenarios_by_code()
    for m in ref.measures:
        assert m.legal_basis.strip(), m.code
        assert all(s in scenarios for s in m.scenarios)
    kinds = {m.kind for m in ref.measures}
    assert kinds == {"punish", "reward"}
    effects = {m.effect for m in ref.measures}
    assert effects == {"deny", "restrict", "caution", "facilitate"}
    punish_effects = {m.effect for m in ref.measures if m.kind == "punish"}
    assert {"deny", "restrict", "caution"} <= punish_effects
    assert any("clean_3y" in m.applies_to for m in ref.measures if m.kind == "reward")
    assert any("warning" in m.applies_to for m in ref.measures if m.kind == "punish")
    names = {m.name for m in ref.measures}
    assert "行政许可“绿色通道”" in names and "“容缺受理”" in names


def test_catalog_lists_and_visibility(ref: ReferenceData) -> None:
    black = [i for i in ref.catalog if i.list == "black"]
    red = [i for i in ref.catalog if i.list == "red"]
    assert black and red
    assert all(i.polarity == "negative" and i.severity == "serious" for i in black)
    assert all(i.polarity == "positive" for i in red)
    for i in ref.catalog:
        assert i.category in ref.categories
        if i.polarity == "negative":
            assert i.legal_basis_required
        # natural persons' ordinary negative info is not published
        if i.subject_types == ["person"] and i.polarity == "negative" and i.list is None:
            assert i.visibility != "public", i.code
    court = ref.catalog_by_code()["BLK-002"]
    assert {"case_no", "court", "obligation", "performance", "dishonest_situation"} <= {
        f.name for f in court.fields
    }


# -- negative tests on a temporary copy ------------------------------------------------


def _copy(tmp_path: pathlib.Path) -> pathlib.Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def _edit(directory: pathlib.Path, name: str, change) -> None:
    path = directory / name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_measure_without_legal_basis_is_refused(tmp_path: pathlib.Path) -> None:
    d = _copy(tmp_path)

    def change(doc):
        doc["measures"][0]["legal_basis"] = "  "

    _edit(d, "measures.yaml", change)
    with pytest.raises(ReferenceDataError) as exc:
        load_reference_files(d)
    assert "'P01'" in str(exc.value) and "legal_basis" in str(exc.value)


def test_unknown_group_department(tmp_path: pathlib.Path) -> None:
    d = _copy(tmp_path)

    def change(doc):
        doc["groups"][4]["departments"].append("410522-nowhere")

    _edit(d, "groups.yaml", change)
    with pytest.raises(ReferenceDataError) as exc:
        load_reference_files(d)
    assert "410522-nowhere" in str(exc.value) and "'teacher'" in str(exc.value)


def test_duplicate_code(tmp_path: pathlib.Path) -> None:
    d = _copy(tmp_path)

    def change(doc):
        doc["scenarios"].append(dict(doc["scenarios"][0]))

    _edit(d, "scenarios.yaml", change)
    with pytest.raises(ReferenceDataError, match="duplicate scenario code 'licensing'"):
        load_reference_files(d)


def test_department_parent_cycle(tmp_path: pathlib.Path) -> None:
    d = _copy(tmp_path)

    def change(doc):
        for dept in doc["departments"]:
            if dept["code"] == "410000-xyb":
                dept["parent"] = "410522-xyb"

    _edit(d, "departments.yaml", change)
    with pytest.raises(ReferenceDataError, match="parent cycle"):
        load_reference_files(d)


def test_black_list_item_must_be_negative(tmp_path: pathlib.Path) -> None:
    d = _copy(tmp_path)

    def change(doc):
        doc["items"].append(
            {
                "code": "BAD-001",
                "name": "错误名单",
                "category": "black_list",
                "polarity": "positive",
                "visibility": "public",
                "list": "black",
                "subject_types": ["person"],
                "source": "test",
                "fields": [
                    {"name": "a", "label": "甲", "type": "string"},
                    {"name": "a", "label": "乙", "type": "string"},
                ],
            }
        )

    _edit(d, "catalog.yaml", change)
    with pytest.raises(ReferenceDataError) as exc:
        load_reference_files(d)
    text = str(exc.value)
    assert "'BAD-001'" in text and "black-list item must be negative" in text
    assert "duplicate attribute name" in text


def test_all_problems_reported_together(tmp_path: pathlib.Path) -> None:
    d = _copy(tmp_path)
    _edit(d, "measures.yaml", lambda doc: doc["measures"][1].pop("legal_basis"))
    _edit(d, "groups.yaml", lambda doc: doc["groups"][0].update(cadence="daily"))
    with pytest.raises(ReferenceDataError) as exc:
        load_reference_files(d)
    assert len(exc.value.problems) == 2
    assert "measures.yaml" in str(exc.value) and "groups.yaml" in str(exc.value)


def test_missing_file(tmp_path: pathlib.Path) -> None:
    d = _copy(tmp_path)
    (d / "scenarios.yaml").unlink()
    with pytest.raises(ReferenceDataError, match=r"scenarios\.yaml: file not found"):
        load_reference_files(d)
