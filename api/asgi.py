"""The ASGI application factory that each API worker process builds its app with."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from core.logs import configure_logging
from core.settings import get_settings


def create() -> FastAPI:
    """The API of this process, with its own pool, producer, keys and audit trail."""
    settings = get_settings()
    configure_logging(settings.log_level, process="api")
    return create_app(settings)
