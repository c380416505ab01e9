"""The `chengxin` command: thin wrappers that build a runtime and call services."""

from __future__ import annotations

import getpass
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from chengxin import keys as keyfile
from chengxin.accounts.principal import USER_ROLES, cli_principal
from chengxin.config import Settings
from chengxin.errors import AppError
from chengxin.identity import IdentityError

app = typer.Typer(help="诚信 Chengxin — 个人公共信用信息平台", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
users_app = typer.Typer(help="用户管理 (users)", no_args_is_help=True)
apikeys_app = typer.Typer(help="部门系统 API 密钥 (API keys)", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志 (audit log)", no_args_is_help=True)
reference_app = typer.Typer(help="参考数据 (reference data)", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(audit_app, name="audit")
app.add_typer(reference_app, name="reference")
scores_app = typer.Typer(help="诚信积分 (integrity points)", no_args_is_help=True)
app.add_typer(scores_app, name="scores")


def _exchange_app() -> None:
    from chengxin.exchange.cli import exchange_app

    app.add_typer(exchange_app, name="exchange")


_exchange_app()


def _ops_commands() -> None:
    from chengxin import ops_cli

    app.command("backup")(ops_cli.backup_cmd)
    app.command("restore")(ops_cli.restore_cmd)
    app.add_typer(ops_cli.keys_app, name="keys")
    audit_app.command("checkpoint")(ops_cli.audit_checkpoint_cmd)
    audit_app.command("export")(ops_cli.audit_export_cmd)


_ops_commands()

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]错误:[/red] {message}")
    return typer.Exit(code)


def settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError: show which variable, not a trace
        raise fail(f"配置无效 (invalid configuration): {exc}") from exc


def runtime(s: Settings | None = None):  # type: ignore[no-untyped-def]
    from chengxin.keys import KeyFileError
    from chengxin.runtime import build_runtime

    s = s or settings()
    try:
        return build_runtime(s)
    except KeyFileError as exc:
        raise fail(str(exc)) from exc


def do_init(s: Settings) -> dict:
    """Create keys if missing, migrate to head, load reference data."""
    from chengxin.migrate import upgrade
    from chengxin.reference.loader import load_reference
    from chengxin.reference.schemas import ReferenceDataError

    created = keyfile.ensure_key_file(s) if not (s.token_key and s.field_key) else False
    rt = runtime(s)
    try:
        upgrade(rt.engine)
        with rt.uow() as session:
            counts = load_reference(session, s.reference_dir, actor=cli_principal("init"))
    except ReferenceDataError as exc:
        raise fail(f"参考数据文件有误: {exc}") from exc
    finally:
        rt.dispose()
    return {"key_file_created": created, "counts": counts}


@app.command()
def init() -> None:
    """创建或升级数据库并载入参考数据 (create/migrate the database, load reference data)."""
    s = settings()
    result = do_init(s)
    if result["key_file_created"]:
        out.print(f"已生成密钥文件 {s.key_file} (权限 0600，请妥善备份，切勿提交到代码库)")
    counts = result["counts"]
    out.print("数据库已就绪: " + ", ".join(f"{k} {v['total']}" for k, v in counts.items()))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址")] = None,
    port: Annotated[int | None, typer.Option(help="端口", min=1, max=65535)] = None,
    workers: Annotated[int | None, typer.Option(help="工作进程数", min=1, max=64)] = None,
) -> None:
    """运行 Web 服务 (API + 页面)."""
    s = settings()
    run_server(s, host or s.host, port or s.port, workers or s.workers)


def run_server(s: Settings, host: str, port: int, workers: int) -> None:
    import os

    from granian import Granian
    from granian.constants import Interfaces

    # Workers are separate processes: they rebuild settings from the environment.
    os.environ["CHENGXIN_DATABASE_URL"] = s.database_url
    os.environ["CHENGXIN_KEY_FILE"] = str(s.key_file)
    if s.demo_mode:
        os.environ["CHENGXIN_DEMO_MODE"] = "true"
    out.print(f"诚信平台已启动，请在浏览器中打开: [bold]http://{host}:{port}/[/bold]")
    Granian(
        "chengxin.asgi:app", address=host, port=port, interface=Interfaces.ASGI,
        workers=workers, log_access=False,
    ).serve()


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口", min=1, max=65535)] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="只生成数据，不启动服务")] = False,
) -> None:
    """初始化、生成演示数据并启动服务 (the newcomer's one command)."""
    from chengxin.demo import fill_demo

    s = settings()
    s.demo_mode = True
    do_init(s)
    rt = runtime(s)
    try:
        accounts = fill_demo(rt)
    finally:
        rt.dispose()
    table = Table(title="演示账号 (demo accounts)")
    for col in ("角色 role", "登录名 login", "密码 password", "说明"):
        table.add_column(col)
    for row in accounts:
        table.add_row(*row)
    out.print(table)
    if not no_serve:
        run_server(s, host, port, 1)


def read_password(prompt: str = "密码: ") -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("再次输入: ") != first:
            raise fail("两次输入的密码不一致")
        return first
    line = sys.stdin.readline()
    if not line:
        raise fail("请从标准输入提供密码 (password expected on standard input)")
    return line.rstrip("\r\n")


@users_app.command("add")
def users_add(
    login: str,
    role: Annotated[str, typer.Option(help=f"角色: {', '.join(USER_ROLES)}")],
    department: Annotated[str | None, typer.Option(help="部门代码")] = None,
    id_number: Annotated[str | None, typer.Option("--id-number", help="身份证号码 (个人用户)")] = None,
    name: Annotated[str | None, typer.Option(help="姓名 (个人用户)")] = None,
    organization: Annotated[str | None, typer.Option(help="所属机构 (第三方)")] = None,
) -> None:
    """新建用户，密码从标准输入读取."""
    from chengxin.accounts.service import create_user

    if role not in USER_ROLES:
        raise fail(f"未知角色 {role!r}；可选: {', '.join(USER_ROLES)}")
    password = read_password()
    rt = runtime()
    try:
        with rt.uow() as session:
            user = create_user(session, actor=cli_principal(), login=login, password=password,
                               role=role, department_code=department, id_number=id_number,
                               name=name, organization=organization)
            user_id = user.id
    except AppError as exc:
        raise fail(_app_error_text(exc)) from exc
    except IdentityError as exc:
        raise fail(exc.message) from exc
    finally:
        rt.dispose()
    out.print(f"已创建用户 {login} (id {user_id}, 角色 {role})")


def _app_error_text(exc: AppError) -> str:
    extra = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in exc.details)
    return exc.message + (f" ({extra})" if extra else "")


@apikeys_app.command("add")
def apikeys_add(
    department: Annotated[str, typer.Option(help="部门代码")],
    name: Annotated[str | None, typer.Option(help="名称")] = None,
) -> None:
    """为部门业务系统创建 API 密钥；密钥只显示这一次."""
    from chengxin.accounts.service import create_api_key

    rt = runtime()
    try:
        with rt.uow() as session:
            row, key = create_api_key(session, actor=cli_principal(), department_code=department,
                                      name=name)
            prefix = row.prefix
    except AppError as exc:
        raise fail(_app_error_text(exc)) from exc
    finally:
        rt.dispose()
    err.print(f"已为部门 {department} 创建 API 密钥 (前缀 {prefix})；请立即保存，之后无法再次查看：")
    print(key)


@audit_app.command("verify")
def audit_verify() -> None:
    """校验审计日志哈希链及已签名的检查点；被篡改时以非零状态退出."""
    from chengxin.keys import public_key_b64
    from chengxin.ops.checkpoints import verify_with_checkpoints

    rt = runtime()
    try:
        with rt.uow() as session:
            result = verify_with_checkpoints(session, public_key_b64(rt.keys))
    finally:
        rt.dispose()
    if result.ok:
        out.print(f"审计日志完整: {result.entries} 条记录，哈希链校验通过"
                  f"（已核对 {result.checkpoints} 个签名检查点）")
        return
    err.print(f"[red]审计日志校验失败[/red]: 序号 {result.first_bad_seq}: {result.problem}")
    raise typer.Exit(1)


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8 / GB18030) 或 XLSX 文件")],
    department: Annotated[str, typer.Option(help="报送部门代码")],
    item: Annotated[str | None, typer.Option("--item", help="目录项代码 (文件无“目录项代码”列时)")] = None,
    error_report: Annotated[Path | None, typer.Option(help="错误报告保存路径 (XLSX)")] = None,
    resume: Annotated[str | None, typer.Option(help="继续运行中断的导入任务 (任务编号)")] = None,
) -> None:
    """导入记录表格，显示进度，输出错误报告."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    from chengxin.accounts.principal import Principal, Role
    from chengxin.records import imports
    from chengxin.reference.models import Department

    rt = runtime()
    try:
        if resume:
            job_id = resume
        else:
            if not file.is_file():
                raise fail(f"文件不存在: {file}")
            with rt.uow() as s:
                if s.get(Department, department) is None:
                    raise fail(f"部门代码不存在: {department}")
            actor = Principal(kind="system", role=Role.SYSTEM, id="cli",
                              department_code=department, label="cli-import")
            try:
                job_id = imports.create_job(rt, actor=actor, department_code=department,
                                            source=file, filename=file.name, item_code=item)
            except AppError as exc:
                raise fail(_app_error_text(exc)) from exc
        with Progress(TextColumn("导入 {task.description}"), BarColumn(), TaskProgressColumn(),
                      TextColumn("{task.completed}/{task.total} 行"), console=err) as bar:
            task = bar.add_task(job_id, total=None)

            def show(job) -> None:  # type: ignore[no-untyped-def]
                bar.update(task, total=job.total_rows, completed=job.processed_rows)

            job = imports.run_job(rt, job_id, progress=show)
        out.print(f"任务 {job.id}: 新增 {job.created}，更新 {job.updated}，未变 {job.unchanged}，"
                  f"拒绝 {job.rejected}，待核实 {job.held}")
        if job.status == "failed" or job.message:
            err.print(f"[red]{job.message}[/red]")
        if (job.rejected or job.held or job.status == "failed") and error_report:
            error_report.write_bytes(imports.error_report(rt, job))
            out.print(f"错误报告已保存: {error_report}")
        if job.status == "failed":
            raise typer.Exit(1)
    finally:
        rt.dispose()


@app.command()
def expire() -> None:
    """结束已到期的展示期限和名单效力；逾期异议转信用办 (run daily)."""
    from chengxin.disclosure.expiry import run_expiry
    from chengxin.rights.objections import escalate_overdue

    rt = runtime()
    actor = cli_principal("expire")
    try:
        with rt.uow() as session:
            result = run_expiry(session, actor=actor)
            result["objections_escalated"] = escalate_overdue(session, actor=actor)
            result["query_log_purged"] = _purge_query_log(session, actor)
    finally:
        rt.dispose()
    out.print(
        f"展示期届满 {result['records_expired']} 条，名单到期 {result['list_entries_expired']} 条，"
        f"逾期异议转办 {result['objections_escalated']} 件，"
        f"清理超期查询记录 {result['query_log_purged']} 条 (截至 {result['as_of']})")


def _purge_query_log(session, actor) -> int:  # type: ignore[no-untyped-def]
    from chengxin import clock
    from chengxin.rights.querylog import purge_expired

    return purge_expired(session, actor=actor, today=clock.today())


@scores_app.command("recompute")
def scores_recompute() -> None:
    """按积分规则为所有人重新计算诚信积分（每条规则一条 SQL 语句）."""
    from chengxin.scoring.api import recompute_command

    rt = runtime()
    try:
        result = recompute_command(rt, actor=cli_principal("scores"))
    finally:
        rt.dispose()
    out.print(f"积分已重算: {result}")


@reference_app.command("reload")
def reference_reload(
    directory: Annotated[Path | None, typer.Option(help="参考数据目录")] = None,
) -> None:
    """重新载入参考数据文件 (departments, groups, catalog, measures, scenarios)."""
    from chengxin.reference.loader import load_reference
    from chengxin.reference.schemas import ReferenceDataError

    rt = runtime()
    target = directory or rt.settings.reference_dir
    if not target.is_dir():
        raise fail(f"目录不存在: {target}")
    try:
        with rt.uow() as session:
            counts = load_reference(session, target, actor=cli_principal())
    except ReferenceDataError as exc:
        raise fail(f"参考数据文件有误，未作任何更改: {exc}") from exc
    finally:
        rt.dispose()
    out.print("已载入: " + ", ".join(f"{k} {v['total']}" for k, v in counts.items()))


def main() -> None:
    from chengxin.gcpolicy import tune_for_throughput

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    tune_for_throughput()  # an import of a large file allocates millions of short-lived objects
    app()
