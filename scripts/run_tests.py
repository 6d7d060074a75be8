"""Run the test suite once per Keras backend and print a summary.

Each backend runs in its own pytest process with `KERAS_BACKEND` set,
because Keras fixes its backend at import time. The exit status is 0 only
if every backend passed.

    python scripts/run_tests.py                      # all three backends
    python scripts/run_tests.py --backends jax,torch
    python scripts/run_tests.py -- -k energy -x      # arguments for pytest
"""

import argparse
import os
import re
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")

# pytest's last line, e.g. "== 12 passed, 1 skipped in 3.21s ==", or
# without the "=" padding when run with -q.
_SUMMARY_PATTERN = re.compile(r"^=*\s*(\d+ \w+.*) in [\d.]+s\b")


def _parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="Comma-separated backends to test (default: all three).",
    )
    parser.add_argument(
        "pytest_args",
        nargs="*",
        help="Arguments passed to pytest after `--`.",
    )
    args = parser.parse_args(argv)
    backends = [name.strip() for name in args.backends.split(",") if name]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        parser.error(
            f"Unknown backend(s): {', '.join(unknown)}. "
            f"Choose from {', '.join(BACKENDS)}."
        )
    return backends, args.pytest_args


def run_backend(backend, pytest_args):
    """Run pytest for one backend; return (exit code, summary, seconds)."""
    env = dict(os.environ, KERAS_BACKEND=backend)
    command = [sys.executable, "-m", "pytest", *pytest_args]
    print(f"\n===== {backend}: {' '.join(command)}", flush=True)
    start = time.monotonic()
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    summary = "no pytest summary line"
    for line in process.stdout:
        sys.stdout.write(line)
        match = _SUMMARY_PATTERN.search(line.strip())
        if match:
            summary = match.group(1)
    return process.wait(), summary, time.monotonic() - start


def main(argv=None):
    backends, pytest_args = _parse_args(argv)
    results = []
    for backend in backends:
        results.append((backend, *run_backend(backend, pytest_args)))

    print("\n===== Summary per backend")
    for backend, code, summary, seconds in results:
        status = "PASSED" if code == 0 else f"FAILED (exit {code})"
        print(f"{backend:<11} {status:<16} {summary} ({seconds:.0f} s)")
    failed = [backend for backend, code, _, _ in results if code != 0]
    if failed:
        print(f"Failing backends: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
