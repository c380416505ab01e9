"""The ASGI entry point for servers: `chengxin.asgi:app` (settings from the environment)."""

from chengxin.app import create_app

app = create_app()
