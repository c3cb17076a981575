"""`python -m stack up|down|status|run`: the embedded local stack from the Makefile."""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from core.settings import REPO_ROOT
from core.topics import lsiv_topic
from stack import demo_feed, lifecycle, supervisor
from stack.config import StackConfig
from stack.credentials import access_token, cached_client, read_credentials, signed_in
from stack.lifecycle import platform_settings


def _redact(text: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", text)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def cmd_up(config: StackConfig) -> None:
    """Start the stack and say where to look."""
    lifecycle.up(config)
    _say(f"stack is up: API {config.api_url} (docs {config.api_url}/docs)")


def cmd_down(config: StackConfig) -> None:
    """Stop the stack."""
    stopped = lifecycle.down(config)
    _say(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


def cmd_status(config: StackConfig) -> None:
    """Say what runs."""
    for name, state in lifecycle.status(config).items():
        _say(f"{name:10s} {_redact(state)}")


def _follow(log_dir: Path, stop: threading.Event) -> None:
    offsets: dict[Path, int] = {p: p.stat().st_size for p in log_dir.glob("*.log")}
    while not stop.is_set():
        for path in sorted(log_dir.glob("*.log")):
            with path.open("rb") as handle:
                handle.seek(offsets.get(path, 0))
                chunk = handle.read()
                offsets[path] = handle.tell()
            for line in chunk.decode(errors="replace").splitlines():
                _say(f"[{path.stem}] {line}")
        stop.wait(0.5)


def _stop_on_signals() -> None:
    # Ctrl-C must stop the stack even if this process was started with SIGINT ignored (as a
    # shell's background job is), and so must SIGTERM from a supervisor or `timeout`.
    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def _tokens(config: StackConfig) -> str:
    """Ready tokens for a ZCV of West and for the admin, with a curl example."""
    admin_credentials = read_credentials(config.admin_credentials)
    assert admin_credentials is not None
    with signed_in(config.api_url, admin_credentials) as admin:
        zcv = cached_client(admin, config.state_dir / "credentials" / "zcv-west.json",
                            "zcv-west", "zcv", ["west"])
    zcv_token = access_token(config.api_url, zcv)
    admin_token = access_token(config.api_url, admin_credentials)
    return (
        "Tokens (valid 30 min; new ones: .venv/bin/python -m stack tokens, or\n"
        "  curl -d grant_type=client_credentials -d client_id=... -d client_secret=... "
        f"{config.api_url}/oauth/token\n  with a client's credentials from "
        f"{config.state_dir}/credentials/):\n"
        f"  ZCV West   export ZCV_TOKEN={zcv_token}\n"
        f"  admin      export ADMIN_TOKEN={admin_token}\n"
        "Then, for example:\n"
        f"  curl -H \"Authorization: Bearer $ZCV_TOKEN\" "
        f"'{config.api_url}/v1/availability?region=west'\n"
        f"  curl -H \"Authorization: Bearer $ADMIN_TOKEN\" {config.api_url}/v1/admin/audit\n"
    )


def cmd_tokens(config: StackConfig) -> None:
    """Print fresh tokens for a ZCV of West and for the admin (the stack must be up)."""
    _say(_tokens(config))


def cmd_run(config: StackConfig) -> None:
    """Up, feed demo data, follow the logs until Ctrl-C, then stop everything."""
    _stop_on_signals()
    stop = threading.Event()
    try:
        lifecycle.up(config)
        feeder = threading.Thread(target=demo_feed.feed, daemon=True,
                                  args=(config.api_url, config.admin_credentials, stop),
                                  kwargs={"after_history": lambda: refit_now(config)})
        feeder.start()
        ambulances = threading.Thread(
            target=demo_feed.feed_ambulances, daemon=True,
            args=(config.kafka_bootstrap_servers, lsiv_topic(platform_settings(config)), stop))
        ambulances.start()
        _say(
            "\nZorgcapaciteit runs on the embedded local stack. Look at:\n"
            f"  ZCV console        {config.api_url}/console  (sign in with the ZCV token below)\n"
            f"  live availability  {config.api_url}/v1/availability?region=west\n"
            f"  busyness           {config.api_url}/v1/busyness?region=west\n"
            f"  mobile units       {config.api_url}/v1/units?region=west\n"
            f"  definitions        {config.api_url}/catalogue\n"
            f"  API docs           {config.api_url}/docs  (OpenAPI {config.api_url}/openapi.json)\n"
            f"  API metrics        {config.api_url}/metrics\n"
            f"  worker metrics     http://127.0.0.1:{config.worker_metrics_port}/metrics\n"
            f"  forecast           {config.api_url}/v1/forecast?region=west&item="
            "hospital.beds.inpatient.available\n"
            "Demo providers of every sector push every 5 s; an LSIV simulator drives ambulances\n"
            "in West and Midden-Nederland. The demo first sends up to four weeks of generated\n"
            "history (daily and weekly rhythms, noise, missing reports), then forecasts are\n"
            "made from it; their accuracy figures come from that generated data.\n"
            "Ctrl-C stops everything.\n"
        )
        _say(_tokens(config))
        _follow(config.log_dir, stop)
    except KeyboardInterrupt:
        _say("\nstopping...")
    finally:
        stop.set()
        time.sleep(0.2)
        cmd_down(config)


def refit_now(config: StackConfig) -> None:
    """One refit of the forecasts now (the forecaster's schedule would come later)."""
    done = subprocess.run([sys.executable, "-m", "forecast", "--once"], env=config.service_env(),
                          cwd=REPO_ROOT, check=False, capture_output=True, text=True)
    _say("forecasts made from the demo's history" if done.returncode == 0
         else f"forecast refit failed: {done.stderr[-500:]}")


def main() -> None:
    """Parse the command and run it."""
    commands = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "run": cmd_run,
                "tokens": cmd_tokens}
    if sys.argv[1:2] == ["supervise"]:  # started by `up`, with the stack's configuration
        supervisor.main()
        return
    parser = argparse.ArgumentParser(prog="python -m stack")
    parser.add_argument("command", choices=sorted(commands))
    args = parser.parse_args()
    commands[args.command](StackConfig.from_env())


if __name__ == "__main__":
    main()
