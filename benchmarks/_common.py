"""Timing, machine description and output shared by the benchmarks."""

import argparse
import datetime
import json
import os
import platform
import statistics
import time

from benchmarks import _backend


def add_common_arguments(parser, warmup=2, repeats=5):
    parser.add_argument(
        "--warmup",
        type=_positive_int,
        default=warmup,
        help="untimed runs before timing, the first of which includes "
        "tracing and compilation (default: %(default)s)",
    )
    parser.add_argument(
        "--repeats",
        type=_positive_int,
        default=repeats,
        help="timed runs; tables report their median (default: %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="CPU threads of torch or TensorFlow operations (default: the "
        "backend's own choice; not supported on JAX)",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="path of the JSON file with settings, versions, machine and "
        "results (default: benchmark-<name>-<backend>.json in the working "
        "directory)",
    )


def apply_thread_setting(args):
    """Apply `--threads`, if given, before anything is computed."""
    if args.threads is not None:
        _backend.set_cpu_threads(args.threads)


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"Expected an int >= 1. Received: {text}"
        )
    return value


def parse_int_list(text):
    """Parse a comma-separated list of positive ints, e.g. `1,5,10`."""
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"Expected comma-separated ints. Received: {text!r}"
        ) from error
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"Expected one or more ints >= 1. Received: {text!r}"
        )
    return values


def time_interleaved(functions, warmup, repeats):
    """Time several argument-free callables in alternation.

    Each callable runs `warmup` times untimed, then the callables take
    turns for `repeats` rounds, so a change in machine load during the
    measurement affects all of them alike and their ratios stay fair.

    Args:
        functions: Dict from a name to a callable without arguments whose
            result `_backend.block_until_ready` can wait for.
        warmup: Int >= 1, the untimed runs. The first includes tracing and
            compilation and is timed separately as `first_call_s`.
        repeats: Int >= 1, the timed rounds.

    Returns:
        Dict from each name to `{"first_call_s", "median_s", "times_s"}`,
        in seconds.
    """
    results = {}
    for name, function in functions.items():
        start = time.perf_counter()
        _backend.block_until_ready(function())
        results[name] = {
            "first_call_s": time.perf_counter() - start,
            "times_s": [],
        }
        for _ in range(warmup - 1):
            _backend.block_until_ready(function())
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            _backend.block_until_ready(function())
            results[name]["times_s"].append(time.perf_counter() - start)
    for result in results.values():
        result["median_s"] = statistics.median(result["times_s"])
    return results


def paired_ratios(numerator, denominator):
    """Return the per-round ratios of two timed callables.

    Both arguments are results of `time_interleaved` from the same call,
    so round `i` of each ran back to back and saw about the same load.
    """
    return [
        a / b
        for a, b in zip(
            numerator["times_s"], denominator["times_s"], strict=True
        )
    ]


def median_ratio(numerator, denominator):
    """Return the median of the per-round ratios of two timed callables.

    On a shared machine it is steadier than the ratio of the two medians,
    because each per-round ratio compares runs made under the same load.
    """
    return statistics.median(paired_ratios(numerator, denominator))


def format_ratio(numerator, denominator):
    """Format the median per-round ratio and its range: `0.91 (0.85-0.97)`."""
    ratios = paired_ratios(numerator, denominator)
    return (
        f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
    )


def machine_description():
    """Describe the machine, the software and the moment of the run."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "backend": _backend.backend(),
        "versions": {"python": platform.python_version()}
        | _backend.backend_versions(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "devices": _backend.devices(),
        "load_average_1_5_15": list(os.getloadavg()),
    }


def format_table(columns, rows):
    """Format `rows` (lists of cells) as a Markdown table."""
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def write_json(path, name, payload):
    """Write `payload` to `path`, or to a default name, and return it."""
    if path is None:
        path = f"benchmark-{name}-{_backend.backend()}.json"
    with open(path, "w") as file:
        json.dump(payload, file, indent=2)
        file.write("\n")
    return path


def header(title, machine, settings):
    """Return the Markdown lines printed above a benchmark's table."""
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    load = ", ".join(f"{value:.2f}" for value in machine["load_average_1_5_15"])
    return "\n".join(
        [
            f"### {title} ({machine['backend']})",
            "",
            f"- date (UTC): {machine['date_utc']}",
            f"- machine: {machine['cpu']}, {machine['cpu_count']} CPUs, "
            f"devices: {', '.join(machine['devices'])}",
            f"- versions: {versions}",
            f"- load average (1, 5, 15 min) at start: {load}",
            f"- settings: {settings}",
            "",
        ]
    )
