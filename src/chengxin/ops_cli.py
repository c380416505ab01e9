"""Operator commands: backup, restore, key rotation, audit checkpoints and export.

Register in cli.py:

    from chengxin import ops_cli
    app.command("backup")(ops_cli.backup_cmd)
    app.command("restore")(ops_cli.restore_cmd)
    app.add_typer(ops_cli.keys_app, name="keys")
    audit_app.command("checkpoint")(ops_cli.audit_checkpoint_cmd)
    audit_app.command("export")(ops_cli.audit_export_cmd)

(`chengxin audit verify` can call `chengxin.ops.checkpoints.verify_with_checkpoints`.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)

keys_app = typer.Typer(help="字段加密密钥 (field-encryption keys)", no_args_is_help=True)


@keys_app.callback()
def _keys_group() -> None:
    """字段加密密钥 (field-encryption keys)."""


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]错误:[/red] {message}")
    return typer.Exit(code)


def _settings():  # type: ignore[no-untyped-def]
    from chengxin.cli import settings

    return settings()


def backup_cmd(
    path: Annotated[Path, typer.Argument(help="备份文件路径（.zip）", dir_okay=False)],
) -> None:
    """在线备份整个数据库到一个可移植文件（一致性快照，服务无需停止）."""
    from chengxin.accounts.principal import cli_principal
    from chengxin.audit.service import record
    from chengxin.db import make_engine, make_sessionmaker, unit_of_work
    from chengxin.keys import KeyFileError, load_keys
    from chengxin.ops.backup import KEY_NOTICE, BackupError, create_backup

    s = _settings()
    try:
        key_ids = sorted(load_keys(s).field_keys)
    except KeyFileError:
        key_ids = []
    engine = make_engine(s.database_url)
    try:
        try:
            res = create_backup(s.database_url, path, engine=engine, key_ids=key_ids)
        except BackupError as exc:
            raise _fail(str(exc)) from exc
        with unit_of_work(make_sessionmaker(engine)) as session:
            record(session, cli_principal("backup"), "ops.backup", object_type="backup",
                   details={"file": path.name, "revision": res.revision, "rows": res.rows,
                            "audit_head_seq": (res.audit_head or {}).get("seq")})
    finally:
        engine.dispose()
    for w in res.warnings:
        err.print(f"[yellow]注意:[/yellow] {w}")
    out.print(f"已备份 {len(res.tables)} 张表 {res.rows} 行（数据库版本 {res.revision}）到 {path}")
    out.print(f"[bold]{KEY_NOTICE}[/bold]（需要的密钥编号: {', '.join(key_ids) or '未知'}）")


def restore_cmd(
    path: Annotated[Path, typer.Argument(help="备份文件路径", exists=True, dir_okay=False)],
    force: Annotated[bool, typer.Option(
        "--force", help="允许目标库已建表（仍要求所有表都没有数据）")] = False,
) -> None:
    """把备份恢复到一个空数据库（CHENGXIN_DATABASE_URL），并校验行数与审计哈希链."""
    from chengxin.accounts.principal import cli_principal
    from chengxin.audit.service import record
    from chengxin.db import make_engine, make_sessionmaker, unit_of_work
    from chengxin.ops.backup import KEY_NOTICE, BackupError, restore_backup

    s = _settings()
    engine = make_engine(s.database_url)
    try:
        try:
            res = restore_backup(path, engine, force=force)
        except BackupError as exc:
            raise _fail(str(exc)) from exc
        # After the check against the manifest: this entry continues the restored chain.
        with unit_of_work(make_sessionmaker(engine)) as session:
            record(session, cli_principal("restore"), "ops.restore", object_type="backup",
                   details={"file": path.name, "revision": res.revision,
                            "rows": sum(res.tables.values())})
    finally:
        engine.dispose()
    rows = sum(res.tables.values())
    out.print(f"已恢复 {len(res.tables)} 张表 {rows} 行（备份版本 {res.revision}"
              + (f"，已升级到 {res.upgraded_to}" if res.upgraded_to else "") + "）")
    out.print(f"审计日志 {res.audit_entries} 条，哈希链校验通过")
    out.print(f"[bold]{KEY_NOTICE}[/bold]：请把备份时的密钥文件放到 CHENGXIN_KEY_FILE")


@keys_app.command("rotate")
def keys_rotate(
    resume: Annotated[bool, typer.Option(
        "--resume", help="不生成新密钥，只把剩余密文重新加密为当前密钥（中断后继续）")] = False,
    retire_old: Annotated[bool, typer.Option(
        "--retire-old", help="完成后从密钥文件删除旧密钥（确认没有密文再引用它们）")] = False,
    prepare: Annotated[bool, typer.Option(
        "--prepare", help="只加入新密钥但暂不启用（重启服务后再执行 rotate）")] = False,
    batch: Annotated[int, typer.Option(
        "--batch", min=100, max=100_000, help="每个事务的行数")] = 2000,
) -> None:
    """轮换字段加密密钥：新增密钥并设为当前，逐批重新加密全部密文."""
    from chengxin.accounts.principal import cli_principal
    from chengxin.audit.service import record
    from chengxin.db import make_engine, make_sessionmaker, unit_of_work
    from chengxin.ops.rotation import RotationError, add_field_key, rotate

    s = _settings()
    engine = make_engine(s.database_url)
    try:
        if prepare:
            try:
                old, new = add_field_key(s, make_current=False)
            except RotationError as exc:
                raise _fail(str(exc)) from exc
            with unit_of_work(make_sessionmaker(engine)) as session:
                record(session, cli_principal("keys.rotate"), "keys.add", object_type="field_key",
                       object_id=new, details={"current": old, "prepared": new})
            out.print(f"已加入新密钥 {new}（未启用）。"
                      "请重启所有服务进程，然后执行 chengxin keys rotate")
            return
        try:
            rep = rotate(s, engine, resume=resume, retire_old=retire_old, batch=batch)
        except RotationError as exc:
            raise _fail(str(exc)) from exc
    finally:
        engine.dispose()
    for name, n in rep.scanned.items():
        out.print(f"{name}: 检查 {n} 行，重新加密 {rep.rotated.get(name, 0)} 行")
    if rep.conflicts:
        out.print(f"{rep.conflicts} 行在处理期间被修改，请稍后执行 chengxin keys rotate --resume")
    if rep.retired:
        out.print(f"已删除旧密钥: {', '.join(rep.retired)}")
    out.print(f"当前字段加密密钥: {rep.new_key}。请重启服务进程以载入新密钥；"
              "并备份新的密钥文件（旧备份需要旧密钥才能读取）")


def audit_checkpoint_cmd() -> None:
    """为审计日志当前末条签署检查点（供 cron 定时执行）."""
    from chengxin.cli import runtime
    from chengxin.keys import KeyFileError, signer
    from chengxin.ops.checkpoints import create_checkpoint

    rt = runtime(_settings())
    try:
        try:
            key = signer(rt.keys)
        except KeyFileError as exc:
            raise _fail(str(exc)) from exc
        with rt.uow() as session:
            res = create_checkpoint(session, key, rt.keys.signing_key_id)
    finally:
        rt.dispose()
    if res.problem and not res.created and res.seq is not None and "拒绝" in res.problem:
        err.print(f"[red]审计检查点未签署[/red]: {res.problem}")
        raise typer.Exit(1)
    if res.created:
        out.print(f"已签署审计检查点: 序号 {res.seq}，哈希 {res.head_hash}")
    else:
        out.print(f"无需新检查点（{res.problem or f'序号 {res.seq} 已有检查点'}）")


def audit_export_cmd(
    path: Annotated[Path, typer.Argument(help="导出文件路径（JSON Lines）", dir_okay=False)],
    since: Annotated[dt.datetime | None, typer.Option(
        "--since", formats=["%Y-%m-%d"], help="起始日期（北京时间，含当日）")] = None,
) -> None:
    """导出审计日志（含哈希，可在外部系统复核），用于审计记录的备份与归档."""
    from chengxin.accounts.principal import cli_principal
    from chengxin.cli import runtime
    from chengxin.ops.checkpoints import export_audit

    rt = runtime(_settings())
    try:
        with rt.uow() as session:
            res = export_audit(session, path, since=since.date() if since else None,
                               actor=cli_principal("audit.export"))
    finally:
        rt.dispose()
    out.print(f"已导出审计日志 {res['entries']} 条"
              + (f"（序号 {res['first_seq']}–{res['last_seq']}）" if res["entries"] else "")
              + f" 到 {path}")
