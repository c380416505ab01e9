"""Everything a running platform holds: settings, engine, sessions, keys, ciphers.

Built once by `build_runtime(settings)` (the app factory and each CLI command call it);
nothing connects to a database at import time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chengxin.config import Settings
from chengxin.db import make_engine, make_sessionmaker, unit_of_work
from chengxin.identity.crypto import BlindIndex, FieldCipher
from chengxin.keys import Keys, load_keys


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keys: Keys
    cipher: FieldCipher
    blind: BlindIndex
    caches: dict[str, Any] = field(default_factory=dict)

    @contextlib.contextmanager
    def uow(self) -> Iterator[Session]:
        with unit_of_work(self.sessions) as session:
            session.info["runtime"] = self
            yield session

    def dispose(self) -> None:
        check_engine = self.caches.pop("check_engine", None)  # sanctions.fastpath
        if check_engine is not None:
            check_engine.close()
        self.engine.dispose()


def build_runtime(settings: Settings, *, engine: Engine | None = None) -> Runtime:
    keys = load_keys(settings)
    cipher = FieldCipher(keys.field_keys, keys.field_key_current)
    cipher.self_test()  # refuse to start with a cipher that does not round-trip
    engine = engine or make_engine(settings.database_url)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        keys=keys,
        cipher=cipher,
        blind=BlindIndex(keys.blind_index_key),
    )


def runtime_of(session: Session) -> Runtime:
    return session.info["runtime"]
