"""Schemathesis against the running stack's `/openapi.json`, as each role (issue 11, item 4).

For each role (a provider, a national ZCV, an admin, each a client of its own), `st run` tests
every operation of the served document with every check on (`--checks all`: server errors,
status codes, content types, headers and bodies against the schema, negative data refused,
positive data accepted, auth not ignored, ...), the three roles side by side; then one test per
role and operation asserts that it found nothing. In `make test` each run is deterministic and
bounded (its examples, its coverage phase and three generated cases per operation: about two
minutes); `make fuzz` runs random cases, many more of them, and the stateful phase.

What the runs still find is declared in KNOWN by kind (the contract mismatches issue 11 item 3
has left), as a non-strict xfail of every operation: any other kind of failure — a server error
above all — on any operation is a red test, and a kind no operation shows any more must leave
KNOWN. docs/fuzzing.md lists the failures with an input that shows each.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from core.settings import REPO_ROOT, Settings
from stack.config import StackConfig
from tests.identities import Platform

ROLES = ("provider", "zcv", "admin")
# make test: each role's run is deterministic (the same cases in the same order every time):
# its examples, its coverage phase (boundary and invalid values of every parameter and body)
# and FUZZ_MAX_EXAMPLES generated cases per operation, for at most FUZZ_SECONDS (the three
# roles side by side). make fuzz: random cases, many more, the stateful phase too, longer.
DETERMINISTIC = os.environ.get("FUZZ_DETERMINISTIC", "1") == "1"
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "3")
PHASES = os.environ.get("FUZZ_PHASES", "examples,coverage,fuzzing")
# A role's run never takes longer; at most 25 minutes: a token lives 30.
SECONDS = float(os.environ.get("FUZZ_SECONDS", "100"))
SEED = os.environ.get("FUZZ_SEED", "1")
# Operations the fuzzer cannot call as it calls the others, and where they are tested instead.
NOT_FUZZED = {
    # The fuzzer reuses ids it saw in answers (GET /v1/admin/clients): as admin it would revoke,
    # and at the token endpoint throttle, the clients every other test signs in with.
    "DELETE /v1/admin/clients/{client_id}": "revokes clients the other tests use; "
                                            "tests/integration/test_trust.py tests revocation",
    "POST /oauth/token": "failed sign-ins throttle the real clients whose ids the fuzzer saw; "
                         "tests/integration/test_trust.py tests the token endpoint",
    "GET /v1/stream": "an endless Server-Sent Events answer (schemathesis reads a body to its "
                      "end); its filters are those of /v1/availability, fuzzed here, and "
                      "tests/integration/test_stream.py tests the stream itself",
}
STATEFUL = "Stateful tests"  # schemathesis' test of sequences of calls (when its phase runs)
FAILURE_CODE = re.compile(r"^- (ST\d{3}) (.+)$", re.MULTILINE)


def _operations() -> list[str]:
    """Every operation of the API's OpenAPI document, as schemathesis labels it."""
    paths = create_app(Settings()).openapi()["paths"]
    labels = [f"{method.upper()} {path}" for path, methods in paths.items() for method in methods]
    stateful = [STATEFUL] if "stateful" in PHASES.split(",") else []
    return [label for label in labels if label not in NOT_FUZZED] + stateful


@dataclass(frozen=True)
class Known:
    """Failures an operation shows today (schemathesis codes) and the work that fixes them."""

    codes: frozenset[str]
    fixed_by: str


ITEM_3 = "issue 11 item 3 (the contracts are true)"


# What the bounded runs still find, on some operation or other (docs/fuzzing.md has an input for
# each): ST202, a request the document allows refused with 400/422, for rules the document's
# schemas cannot state or do not state yet: one parameter that needs or excludes another
# (`radius_km` needs `near`, `neighbours` a `region`, `location` or `region` but not both), the
# FHIR search values' syntax (`near=0`), a FHIR body's `id` that differs from the URL's, the
# FHIR Bundles' and CSV files' content rules, OsmAnd's unit id (`id` or `device_id`), an alert
# rule's item and the rules per kind. Which operations show it varies from run to run (each run
# is cut at its time), so it is known per kind, not per operation: any other kind of failure — a
# server error, an undeclared status (ST103), a forbidden request accepted (ST201) — on any
# operation is a red test.
KNOWN = Known(frozenset({"ST202"}), ITEM_3)


class KnownFailure(AssertionError):
    """What schemathesis found on an operation, all of it declared in KNOWN."""


@dataclass
class Findings:
    """One role's run: the operations it tested and what failed, by operation and code."""

    tested: set[str] = field(default_factory=set)
    failures: dict[str, dict[str, str]] = field(default_factory=dict)  # op -> code -> text
    summary: str = ""
    cases: int = 0  # test cases generated
    stop_reason: str = ""  # "completed", or why the run stopped early ("max_time", ...)


def read_junit(path: Path) -> Findings:
    """The findings of a schemathesis JUnit report."""
    found = Findings()
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        label = case.get("name", "")
        found.tested.add(label)
        for failure in (*case.iter("failure"), *case.iter("error")):
            text = failure.text or failure.get("message") or ""
            codes = FAILURE_CODE.findall(text) or [("error", text[:200])]
            for code, _ in codes:
                found.failures.setdefault(label, {})[code] = text
    return found


def _token(api_url: str, client: httpx.Client) -> str:
    """A fresh access token of the signed-in `client`."""
    client.get("/v1/definitions", params={"sector": "hospital"}).raise_for_status()
    token = getattr(client.auth, "token", None)
    assert isinstance(token, str), f"no token for the fuzzing client at {api_url}"
    return token


def _client(platform: Platform, role: str) -> httpx.Client:
    """A client of the role's own, so that what the fuzzer does (throttling, revoking) touches
    no client another test uses."""
    org = f"fuzz-{role}"
    if role == "provider":
        platform.register_organization(org, "Fuzzing zorggroep", "00001234")
    return platform.new_client(org, role, national=role == "zcv")[1]


def schemathesis_command(stack: StackConfig, token: str, reports: Path) -> list[str]:
    """`st run` on the stack's document as the token's caller, with every check, writing
    JUnit and JSON reports into `reports`."""
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{stack.api_url}/openapi.json",
               "--checks", "all", "--header", f"Authorization: Bearer {token}",
               "--phases", PHASES, "--max-examples", MAX_EXAMPLES, "--seed", SEED,
               "--workers", "1", "--request-timeout", "30", "--max-time", str(round(SECONDS)),
               "--report", "junit,json", "--report-dir", str(reports), "--no-color"]
    if DETERMINISTIC:
        command.append("--generation-deterministic")
    for label in NOT_FUZZED:
        command += ["--exclude-path", label.split(" ", 1)[1]]
    return command


def read_run(reports: Path, stdout: str) -> Findings:
    """A finished run's findings, from its reports."""
    junit, summary = sorted(reports.glob("junit-*.xml")), sorted(reports.glob("json-*.json"))
    assert junit and summary, f"schemathesis wrote no report:\n{stdout[-3000:]}"
    found = read_junit(junit[-1])
    run = json.loads(summary[-1].read_text())
    found.cases, found.stop_reason = run["test_cases"]["generated"], run["stop_reason"]
    found.summary = stdout[-3000:]
    return found


@pytest.fixture(scope="module")
def findings(stack: StackConfig, platform: Platform,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Findings]]:
    """Every role's findings: the three runs start side by side when the first test asks."""
    folder = Path(os.environ.get("FUZZ_REPORT_DIR") or tmp_path_factory.mktemp("schemathesis"))
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks", "PYTHONPATH": str(REPO_ROOT)}
    runs: dict[str, tuple[subprocess.Popen[str], Path]] = {}
    done: dict[str, Findings] = {}

    class Runs(dict[str, Findings]):
        def __missing__(self, role: str) -> Findings:
            if not runs:
                for each in ROLES:
                    with _client(platform, each) as client:
                        token = _token(stack.api_url, client)
                    reports = folder / each
                    reports.mkdir(parents=True, exist_ok=True)
                    runs[each] = (subprocess.Popen(
                        schemathesis_command(stack, token, reports), cwd=REPO_ROOT, env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True), reports)
            process, reports = runs[role]
            stdout, _ = process.communicate()
            self[role] = read_run(reports, stdout)
            return self[role]

    yield Runs(done)
    for process, _ in runs.values():
        if process.poll() is None:
            process.kill()
            process.wait()


def _case(operation: str) -> object:
    marks = pytest.mark.xfail(
        strict=False, raises=KnownFailure,
        reason=f"{', '.join(sorted(KNOWN.codes))} may show: fixed by {KNOWN.fixed_by}")
    return pytest.param(operation, marks=marks, id=operation)


# The first test waits for the three runs side by side; any test at most for one of them.
RUN_TIMEOUT = SECONDS + 180


@pytest.mark.timeout(RUN_TIMEOUT)
@pytest.mark.parametrize("operation", [_case(operation) for operation in _operations()])
def test_operation_keeps_its_contract(operation: str, findings: dict[str, Findings]) -> None:
    """As no role does the fuzzer find a server error, an answer the document does not
    describe, or anything else a check looks for; only what KNOWN declares (xfail), and then
    some of it is found (a known failure no role shows any more is a stale mark: XPASS)."""
    found: dict[str, list[str]] = {}
    for role in ROLES:
        run = findings[role]
        assert operation in run.tested, f"{operation} was not tested as {role}:\n{run.summary}"
        for code, text in run.failures.get(operation, {}).items():
            found.setdefault(code, []).append(f"as {role}:\n{text}")
    known = KNOWN
    if new := sorted(set(found) - known.codes):
        pytest.fail(f"new failures {', '.join(new)} on {operation}:\n\n"
                    + "\n\n".join(text for code in new for text in found[code]))
    if found:
        raise KnownFailure(f"{', '.join(sorted(found))} (known, {known.fixed_by})")
    cut = [role for role in ROLES if findings[role].stop_reason != "completed"]
    if known.codes and cut:
        # Not found, but a run cut at its time may not have come to the case that shows it:
        # only a complete run says a known failure is gone (and then this test XPASSes).
        # test_every_known_failure_is_found_somewhere catches a kind that is gone everywhere.
        raise KnownFailure(f"not found by the runs cut at {SECONDS:g} s ({', '.join(cut)})")


def test_every_known_failure_is_found_somewhere(findings: dict[str, Findings]) -> None:
    """A kind of failure KNOWN declares that no role found on any operation is fixed: its marks
    are stale and must go."""
    found = {code for role in ROLES for codes in findings[role].failures.values()
             for code in codes}
    declared = set(KNOWN.codes)
    assert declared <= found, (
        f"{', '.join(sorted(declared - found))} no longer found on any operation: remove them "
        "from KNOWN (and docs/fuzzing.md)")


def test_every_role_ran_to_the_end_or_to_its_time(findings: dict[str, Findings]) -> None:
    """Each run tested every operation and stopped only at its end or its time limit."""
    for role in ROLES:
        run = findings[role]
        assert run.stop_reason in ("completed", "max_time"), (role, run.stop_reason, run.summary)
        assert run.cases > 0 and set(_operations()) <= run.tested, (role, run.summary)


def test_the_tests_cover_the_served_document(api: httpx.Client) -> None:
    """One test per operation of the document the stack serves, but the ones that say why."""
    paths = api.get("/openapi.json").json()["paths"]
    labels = {f"{method.upper()} {path}" for path, methods in paths.items() for method in methods}
    assert set(NOT_FUZZED) <= labels, "NOT_FUZZED names an operation that no longer exists"
    assert labels - set(NOT_FUZZED) == set(_operations()) - {STATEFUL}
