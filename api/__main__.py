"""`python -m api`: serve the HTTP API with uvicorn on the configured host and port."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from core.logs import configure_logging
from core.settings import get_settings


def main() -> None:
    """Run the API until stopped."""
    settings = get_settings()
    configure_logging(settings.log_level, process="api")
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port,
                log_level=settings.log_level.lower(), access_log=False)


if __name__ == "__main__":
    main()
