"""SQLite's WAL under writes that never pause (chengxin.db.checkpoint).

SQLite starts the WAL over only once a checkpoint has caught up with its end. With a
writer committing all the time, as the check path's group commit does at full load, a
passive checkpoint never catches up and the file grew without end (0.7 GB in 13 s
over HTTP). These tests run such a writer on a file of their own, on either backend's
test run."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from chengxin import db

ROW = b"x" * 3000  # about one 4 KB page per commit, in the table and its index


def _writer(path, stop: threading.Event, wrote: list[int]) -> None:
    """Commit one row at a time until told to stop, with the short pauses between
    commits the check's group commit has at full load (its other work on the event
    loop), on a connection that leaves checkpoints to others, as the group commit's."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("PRAGMA busy_timeout=5000")
    try:
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (body) VALUES (?)", (ROW,))
            conn.execute("COMMIT")
            wrote[0] += 1
            time.sleep(0.0005)
    finally:
        conn.close()


def _run(tmp_path, restart_above: int | None, seconds: float = 1.5) -> tuple[list[int], int]:
    """The WAL's length in frames as each checkpoint found it, and the rows written."""
    path = tmp_path / "wal.db"
    engine = db.make_engine(f"sqlite:///{path}", auto_checkpoint=False, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
            conn.exec_driver_sql("CREATE INDEX ix_t_body ON t (body)")
        stop, wrote = threading.Event(), [0]
        writer = threading.Thread(target=_writer, args=(str(path), stop, wrote))
        writer.start()
        found = []
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                found.append(db.checkpoint(engine, restart_above))
                time.sleep(0.02)
        finally:
            stop.set()
            writer.join()
        return found, wrote[0]
    finally:
        engine.dispose()


def test_the_wal_starts_over_under_writes_that_never_pause(tmp_path):
    found, wrote = _run(tmp_path, restart_above=400)
    assert wrote > 500  # the writer really wrote all the time (a few pages each)
    # Without the restart the WAL only grows (its frames found: one per page written,
    # thousands by the end). With it, it is cut back whenever it passes the limit: what
    # the last checkpoints found is the writes of a few rounds, not the whole run's.
    assert max(found[-5:]) < 4 * 400, found


def test_passive_checkpoints_alone_let_it_grow(tmp_path):
    """The control: the same writer and checkpoints without the restart. If SQLite
    started the WAL over by itself here, the test above would prove nothing."""
    found, wrote = _run(tmp_path, restart_above=None)
    assert wrote > 500
    assert found[-1] > 4 * 400, found  # far past where the restart would have cut it


def test_checkpoint_is_nothing_on_postgresql():
    engine = db.make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert db.checkpoint(engine) == 0  # no connection is even made
    engine.dispose()


@pytest.mark.parametrize("restart_above", [None, 0])
def test_checkpoint_returns_the_frames_it_found(tmp_path, restart_above):
    path = tmp_path / "one.db"
    engine = db.make_engine(f"sqlite:///{path}", auto_checkpoint=False, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (body BLOB)")
            conn.exec_driver_sql("INSERT INTO t VALUES (?)", (ROW,))
        assert db.checkpoint(engine, restart_above) > 0
        with engine.connect() as conn:  # everything was copied: the data reads back
            assert conn.exec_driver_sql("SELECT length(body) FROM t").scalar() == len(ROW)
    finally:
        engine.dispose()
