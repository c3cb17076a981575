"""Schemathesis hooks for fuzzing the running stack (`SCHEMATHESIS_HOOKS=tests.fuzz_hooks`).

An alert rule's `webhook_url` is called by the stream worker when the rule fires, and the
fuzzer invents hosts: every generated webhook is pointed at a closed loopback port instead, so
no fuzzed request ever makes the platform call an address outside this machine.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import schemathesis

LOOPBACK = "127.0.0.1:9"  # the discard port: nothing listens, the delivery fails at once


def loopback_webhook(body: Any) -> Any:
    """`body` with a `webhook_url` that names a host moved to the loopback address."""
    if not isinstance(body, dict) or not isinstance(body.get("webhook_url"), str):
        return body
    try:
        parts = urlsplit(body["webhook_url"])
    except ValueError:
        return body
    if not parts.netloc:
        return body
    return {**body, "webhook_url": urlunsplit(parts._replace(netloc=LOOPBACK))}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Keep generated webhooks on this machine (schemathesis re-validates an edited case)."""
    case.body = loopback_webhook(case.body)
