"""`python -m bench.open_api`: the API whose access rules admit a fixed provider unchecked.

Only for `make bench`, to measure what authentication costs on the push path: the same app,
routes, handlers, dependency tree and audit record, but no token verification, revocation
check, rate limit or role check. The rules' `__call__` is replaced in this process before the
app is built, with the same signature, so FastAPI resolves exactly the same dependencies
(FastAPI's `dependency_overrides` would re-inspect the override on every request and make the
baseline slower than the real thing). It is never part of the platform's deployment: it lives
in `bench/`, listens on loopback only, and acts for the one organisation in BENCH_ORGANIZATION.
"""

from __future__ import annotations

import os
from typing import Annotated

import uvicorn
from fastapi import Depends, Request

from api.access import DEVICE_KEY, OAUTH2, Access, DeviceAccess, Rule
from api.app import create_app
from api.deps import ConnDep
from core.identity import Principal
from core.logs import configure_logging
from core.settings import get_settings


def _admit(rule: Rule, request: Request) -> Principal:
    principal = Principal(subject="bench-open", organization=os.environ["BENCH_ORGANIZATION"],
                          role="provider")
    rule._open(request).principal = principal  # noqa: SLF001 (the rule's own audit record)
    request.state.principal = principal
    return principal


async def open_access(self: Access, request: Request, conn: ConnDep,
                      authorization: Annotated[str | None, Depends(OAUTH2)]) -> Principal:
    """Access.__call__ without the checks."""
    return _admit(self, request)


async def open_device_access(self: DeviceAccess, request: Request, conn: ConnDep,
                             authorization: Annotated[str | None, Depends(OAUTH2)],
                             key: Annotated[str | None, Depends(DEVICE_KEY)]) -> Principal:
    """DeviceAccess.__call__ without the checks."""
    return _admit(self, request)


def main() -> None:
    """Serve the open app on 127.0.0.1:API_PORT."""
    settings = get_settings()
    configure_logging(settings.log_level, process="open-api")
    Access.__call__ = open_access  # type: ignore[method-assign]
    DeviceAccess.__call__ = open_device_access  # type: ignore[method-assign]
    uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.api_port,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
