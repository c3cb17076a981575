"""`python -m bench.open_api`: the API with every access rule replaced by a fixed provider.

Only for `make bench`, to measure what authentication costs on the push path: the same app,
the same routes and handlers, the same audit record, but no token verification, revocation
check, rate limit or role check. It is never part of the platform's deployment: it lives in
`bench/`, listens on loopback only, and acts for the one organisation the bench names in
BENCH_ORGANIZATION.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import Request

from api.access import Rule, declared_routes
from api.app import create_app
from api.audit import AuditContext
from core.identity import Principal
from core.logs import configure_logging
from core.settings import get_settings


def admit_as(principal: Principal, rule: Rule) -> Callable[[Request], Principal]:
    """A stand-in for `rule` that admits `principal` without checking anything."""
    def admit(request: Request) -> Principal:
        request.state.audit = AuditContext(action=rule.action, kind=rule.kind,
                                           principal=principal)
        request.state.principal = principal
        return principal

    return admit


def main() -> None:
    """Serve the open app on 127.0.0.1:API_PORT."""
    settings = get_settings()
    configure_logging("WARNING", process="open-api")
    principal = Principal(subject="bench-open", organization=os.environ["BENCH_ORGANIZATION"],
                          role="provider")
    app = create_app(settings)
    for route in declared_routes(app):
        for rule in route.rules:
            dependency: Any = rule  # a Rule instance is its own dependency callable
            app.dependency_overrides[dependency] = admit_as(principal, rule)
    uvicorn.run(app, host="127.0.0.1", port=settings.api_port, log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
