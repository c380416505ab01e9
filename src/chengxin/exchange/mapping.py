"""目录对接: mapping our catalog item codes onto an upper platform's codes.

Loaded from data/catalog_mapping.yaml (see the comments there); validated: every local
code appears at most once per receiver, every target is a non-empty code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FILE_NAME = "catalog_mapping.yaml"


class MappingError(ValueError):
    pass


@dataclass(frozen=True)
class CatalogMapping:
    default: dict[str, str] = field(default_factory=dict)
    targets: dict[str, dict[str, str]] = field(default_factory=dict)

    def for_receiver(self, receiver: str | None) -> dict[str, str]:
        return {**self.default, **self.targets.get(receiver or "", {})}

    def map_code(self, code: str, receiver: str | None) -> str:
        return self.for_receiver(receiver).get(code, code)


def _entries(raw: Any, where: str, known: set[str] | None) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise MappingError(f"{where}: expected a list of {{local, upper}} entries")
    out: dict[str, str] = {}
    for i, entry in enumerate(raw, 1):
        if not isinstance(entry, dict) or set(entry) != {"local", "upper"}:
            raise MappingError(f"{where} entry {i}: expected exactly the keys local, upper")
        local, upper = entry["local"], entry["upper"]
        if not (isinstance(local, str) and local and isinstance(upper, str) and upper.strip()):
            raise MappingError(f"{where} entry {i}: codes must be non-empty text")
        if local in out:
            raise MappingError(f"{where}: {local} is mapped twice (one target per code)")
        if known is not None and local not in known:
            raise MappingError(f"{where}: {local} is not in our catalog")
        out[local] = upper.strip()
    return out


def parse_mapping(data: Any, known_codes: set[str] | None = None) -> CatalogMapping:
    if not isinstance(data, dict) or data.get("version") != 1:
        raise MappingError("catalog mapping: expected a mapping with version: 1")
    targets_raw = data.get("targets") or {}
    if not isinstance(targets_raw, dict):
        raise MappingError("catalog mapping: targets must map receiver codes to lists")
    return CatalogMapping(
        default=_entries(data.get("default"), "default", known_codes),
        targets={str(k): _entries(v, f"targets.{k}", known_codes)
                 for k, v in targets_raw.items()})


def load_mapping(reference_dir: Path, known_codes: set[str] | None = None) -> CatalogMapping:
    path = Path(reference_dir) / FILE_NAME
    if not path.exists():
        path = Path(__file__).resolve().parent.parent / "data" / FILE_NAME
    if not path.exists():
        return CatalogMapping()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError(f"catalog mapping: not valid YAML ({exc.__class__.__name__})") from exc
    return parse_mapping(data, known_codes)
