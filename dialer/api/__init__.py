"""The agent API over HTTP (docs/api.md): preview, record actions, agent state, DNC."""

from dialer.api.app import make_app, start_api
from dialer.api.control import DaemonControl

__all__ = ["DaemonControl", "make_app", "start_api"]
