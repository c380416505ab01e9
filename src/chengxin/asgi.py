"""The ASGI entry point for servers: `chengxin.asgi:app` (settings from the environment)."""

from chengxin.app import create_app
from chengxin.gcpolicy import tune_for_throughput

app = create_app()

# After the app (and its runtime) is built: see chengxin.gcpolicy.
tune_for_throughput()
