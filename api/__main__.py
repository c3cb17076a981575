"""`python -m api`: serve the HTTP API with uvicorn (uvloop, httptools) on the configured host
and port, in API_WORKERS processes."""

from __future__ import annotations

import uvicorn

from core.logs import configure_logging
from core.settings import get_settings


def main() -> None:
    """Run the API until stopped."""
    settings = get_settings()
    configure_logging(settings.log_level, process="api")
    uvicorn.run("api.asgi:create", factory=True, host=settings.api_host,
                port=settings.api_port, workers=settings.api_workers, loop="uvloop",
                http="httptools", log_level=settings.log_level.lower(), access_log=False)


if __name__ == "__main__":
    main()
