"""``python -m artclf.app [--host 127.0.0.1] [--port 8501] [--no-record] [--confirm-share 0.2]
[--ensure-model [OVERRIDE ...]]``: serve the web app with Streamlit, offline (no usage
statistics, assets from the package). ``--ensure-model`` first trains and registers the default
model when none is registered (``make demo`` passes it); the overrides go to that training.
``--no-record`` and ``--confirm-share`` set the app's options (``conf/app/default.yaml``)."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

PAGE = Path(__file__).with_name("page.py")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m artclf.app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: local)")
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument(
        "--no-record", action="store_true", help="record no classification nor feedback"
    )
    parser.add_argument(
        "--confirm-share",
        type=float,
        help='the share of answers asked "Is this right?" (default 0.2)',
    )
    parser.add_argument("--ensure-model", action="store_true", help="train one if none is")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for that training")
    return parser.parse_args(argv)


def streamlit_command(host: str, port: int) -> list[str]:
    from artclf.app.classify import MAX_UPLOAD_MB

    flags = {
        "server.address": host,
        "server.port": port,
        "server.headless": "true",
        "server.maxUploadSize": MAX_UPLOAD_MB,
        "server.fileWatcherType": "none",
        "server.runOnSave": "false",
        "browser.gatherUsageStats": "false",
        "global.developmentMode": "false",
        "client.toolbarMode": "viewer",
    }
    args = [f"--{key}={value}" for key, value in flags.items()]
    return [sys.executable, "-m", "streamlit", "run", str(PAGE), *args]


def set_options(args: argparse.Namespace) -> None:
    """The flags as the environment variables ``conf/app/default.yaml`` reads (the Streamlit
    process inherits them), checked here: a bad value is one line before anything starts."""
    from artclf.app.record import Options
    from artclf.app.store import app_config

    if args.no_record:
        os.environ["ARTCLF_APP_RECORD"] = "false"
    if args.confirm_share is not None:
        os.environ["ARTCLF_APP_CONFIRM_SHARE"] = str(args.confirm_share)
    try:
        Options.from_config(app_config().app)
    except ValueError as error:
        sys.exit(f"error: {error}")


def main(argv: list[str] | None = None) -> None:
    if sys.version_info < (3, 11):
        sys.exit(
            f"error: the web app needs Python >= 3.11 (Streamlit); this is "
            f"{platform.python_version()}: create the venv with python3.11 or newer"
        )
    args = parse(argv)
    try:
        import streamlit  # noqa: F401
    except ImportError:
        sys.exit("error: Streamlit is not installed; run `make demo` or pip install 'artclf[app]'")
    set_options(args)
    if args.ensure_model:
        from artclf.app.bootstrap import ensure_model
        from artclf.runtime.cli import run_or_exit

        run_or_exit(ensure_model, list(args.overrides))
    print(f"artclf app on http://{args.host}:{args.port}  (Ctrl+C stops it)", flush=True)
    command = streamlit_command(args.host, args.port)
    os.execv(command[0], command)  # the server replaces this process: one process to stop


if __name__ == "__main__":
    main()
