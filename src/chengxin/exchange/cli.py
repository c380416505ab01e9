"""`chengxin exchange pull`: pull a lower platform's feed (register in cli.py with
`app.add_typer(exchange_app, name="exchange")`; until then `python -m chengxin.exchange.cli`)."""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer
from rich.console import Console

exchange_app = typer.Typer(help="平台间数据交换 (exchange)", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@exchange_app.callback()
def _group() -> None:
    """平台间数据交换 (exchange)."""


@exchange_app.command("pull")
def pull_command(
    source: Annotated[str, typer.Option("--from", help="下级平台地址, 如 https://county.example")],
    key: Annotated[str | None, typer.Option(
        "--key", help="对方为本平台签发的 API 密钥（也可用环境变量 CHENGXIN_EXCHANGE_KEY）")] = None,
    once: Annotated[bool, typer.Option("--once", help="拉取到最新后退出（默认）")] = False,
    interval: Annotated[float | None, typer.Option(
        "--interval", min=1, help="持续运行，每隔若干秒拉取一次")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=1000, help="每页条数")] = None,
    max_pages: Annotated[int | None, typer.Option("--max-pages", min=1)] = None,
    trust_new_key: Annotated[bool, typer.Option(
        "--trust-new-key", help="接受对方已变化的签名公钥（须先线下核实）")] = False,
) -> None:
    """从下级平台拉取已签名的变更并应用 (pull and apply a lower platform's changes)."""
    from chengxin.cli import runtime
    from chengxin.exchange.pull import PullError, pull

    api_key = key or os.environ.get("CHENGXIN_EXCHANGE_KEY")
    if not api_key:
        err.print("[red]错误:[/red] 需要 --key 或 CHENGXIN_EXCHANGE_KEY")
        raise typer.Exit(2)
    rt = runtime()
    try:
        while True:
            try:
                res = pull(rt, source, api_key, max_pages=max_pages, limit=limit,
                           trust_new_key=trust_new_key)
            except PullError as exc:
                err.print(f"[red]错误:[/red] {exc}")
                if interval is None or once:
                    raise typer.Exit(exc.exit_code) from exc
            else:
                d = res.as_dict()
                out.print(f"{d['platform_id']}: {d['pages']} 页 {d['items']} 条；应用 {d['applied']}，"
                          f"未变 {d['unchanged']}，跳过 {d['skipped']}，拒绝 {d['rejected']}")
                trust_new_key = False  # trusted once, pinned from now on
            if interval is None or once:
                return
            time.sleep(interval)
    finally:
        rt.dispose()


if __name__ == "__main__":
    exchange_app()
