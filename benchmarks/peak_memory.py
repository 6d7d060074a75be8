"""Peak memory of a forward and backward pass against the iterations T.

Every iteration of `HopfieldRetrieval` keeps tensors for the gradient,
among them the `(N, num_memories)` attention weights, so the memory of a
training step grows linearly with T. With `remat=True` the layer keeps
only the state entering each iteration and recomputes the rest in the
backward pass. This benchmark measures both, and the time remat costs.

Memory is measured in three ways, each where it exists:

- Peak RSS increase (all backends): the growth of the process's resident
  memory during one forward and backward pass, read from `VmHWM` in
  `/proc/self/status` after resetting it through `/proc/self/clear_refs`
  (Linux only). The script restarts itself with
  `MALLOC_MMAP_THRESHOLD_=65536`, so glibc returns every freed buffer
  larger than 64 KiB to the system and the RSS follows the live tensors.
  It includes the outputs and gradients of the pass, which do not depend
  on T. On GPUs this measures host memory only and is not meaningful.
- XLA temp buffer (JAX with `--jit`): `temp_size_in_bytes` of the compiled
  program's `memory_analysis()`, the scratch memory XLA plans for it.
- Saved for backward (torch without `--jit`): total bytes of the distinct
  storages that autograd saves for the backward pass, counted with
  `torch.autograd.graph.saved_tensors_hooks`.

TensorFlow offers no CPU memory statistics
(`tf.config.experimental.get_memory_info` works on GPUs only), so only
the RSS measure is reported for it.

Usage:

    KERAS_BACKEND=jax python -m benchmarks.peak_memory
    KERAS_BACKEND=torch python -m benchmarks.peak_memory --iterations 1,10
"""

import argparse
import gc
import os
import sys

import numpy as np

from applications import cli
from benchmarks import _backend
from benchmarks import _common

_MALLOC_VARIABLE = "MALLOC_MMAP_THRESHOLD_"


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.peak_memory",
        description="Measure the peak memory and time of a forward and "
        "backward pass of HopfieldRetrieval against the number of "
        "iterations, with and without remat, on the backend set by "
        "KERAS_BACKEND.",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=4096,
        help="batch size of (batch, dim) inputs (default: %(default)s)",
    )
    parser.add_argument(
        "--dim",
        type=int,
        default=128,
        help="vector dimension D (default: %(default)s)",
    )
    parser.add_argument(
        "--memories",
        type=int,
        default=512,
        help="number of memories P (default: %(default)s)",
    )
    parser.add_argument(
        "--iterations",
        type=cli.positive_int_list,
        default=[1, 5, 10, 15, 30],
        help="comma-separated numbers of iterations T (default: 1,5,10,15,30)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--jit",
        dest="jit",
        action="store_true",
        default=None,
        help="compile the pass (default on JAX and TensorFlow)",
    )
    mode.add_argument(
        "--no-jit",
        dest="jit",
        action="store_false",
        help="run the pass eagerly (default on torch, whose torch.compile "
        "takes about half a minute per shape on two CPU cores)",
    )
    _common.add_layer_arguments(parser, beta=False)
    _common.add_common_arguments(parser, warmup=1, repeats=3)
    return parser


def _restart_with_malloc_settings():
    """Re-run this command with glibc's dynamic mmap threshold disabled.

    glibc raises its mmap threshold when a large buffer is freed and then
    keeps later buffers of that size on its heap after they are freed, so
    the RSS would stay high and hide the peak of the next measurement.
    """
    if os.environ.get(_MALLOC_VARIABLE):
        return
    environment = dict(os.environ, **{_MALLOC_VARIABLE: "65536"})
    arguments = [sys.executable, "-m", "benchmarks.peak_memory"]
    os.execve(sys.executable, arguments + sys.argv[1:], environment)


def _read_status_bytes(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"No {field} line in /proc/self/status.")


def peak_rss_increase(function):
    """Return the peak RSS growth, in bytes, while `function` runs."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    baseline = _read_status_bytes("VmRSS")
    result = _backend.block_until_ready(function())
    peak = _read_status_bytes("VmHWM")
    del result
    return peak - baseline


def xla_temp_bytes(gradients, args):
    """Return the XLA temp buffer size of a `jax.jit`-compiled function."""
    analysis = gradients.lower(*args).compile().memory_analysis()
    return int(analysis.temp_size_in_bytes)


def torch_saved_bytes(loss_function, args):
    """Return the bytes of distinct storages saved for the backward pass."""
    import torch

    storages = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    args = [arg.detach().requires_grad_(True) for arg in args]
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = loss_function(*args)
    del loss
    return sum(storages.values())


def measure(args, jit):
    import keras

    from keras_nihr.layers import HopfieldRetrieval

    rng = np.random.default_rng(0)
    x = _backend.to_tensor(
        rng.normal(size=(args.batch, args.dim)).astype("float32")
    )
    memories = rng.normal(size=(args.memories, args.dim)).astype("float32")
    results = []
    for iterations in args.iterations:
        functions = {}
        native = {}
        _backend.reset_compiler_caches()
        for remat in (False, True):
            layer = HopfieldRetrieval(
                initial_memories=memories,
                iterations=iterations,
                beta=8.0,
                noise_stddev=args.noise_stddev,
                seed=0,
                remat=remat,
            )
            layer.build(x.shape)
            seed_state = [v.value for v in layer.non_trainable_variables]

            def loss(weights, inputs, layer=layer, seed_state=seed_state):
                outputs, _ = layer.stateless_call(
                    [weights], seed_state, inputs, training=True
                )
                return keras.ops.sum(outputs)

            gradients = _backend.gradient_function(loss, jit)
            weights = layer.memories.value
            functions[remat] = lambda g=gradients, w=weights: g(w, x)
            name = _backend.backend()
            if name == "jax" and jit:
                native[remat] = xla_temp_bytes(gradients, (weights, x))
            elif name == "torch" and not jit:
                native[remat] = torch_saved_bytes(loss, (weights, x))
        timings = _common.time_interleaved(
            {"plain": functions[False], "remat": functions[True]},
            args.warmup,
            args.repeats,
        )
        for remat, key in ((False, "plain"), (True, "remat")):
            peaks = [
                peak_rss_increase(functions[remat]) for _ in range(args.repeats)
            ]
            results.append(
                {
                    "iterations": iterations,
                    "remat": remat,
                    "jit": jit,
                    "peak_rss_increase_bytes": int(np.median(peaks)),
                    "peak_rss_increase_all_bytes": peaks,
                    "native_bytes": native.get(remat),
                    "time": timings[key],
                    "time_ratio_to_plain": _common.median_ratio(
                        timings[key], timings["plain"]
                    ),
                    "time_ratio_text": _common.format_ratio(
                        timings[key], timings["plain"]
                    ),
                }
            )
    return results


def native_measure_name(jit):
    name = _backend.backend()
    if name == "jax" and jit:
        return "XLA temp MiB"
    if name == "torch" and not jit:
        return "saved for backward MiB"
    return None


def format_results(results, jit):
    native_name = native_measure_name(jit)
    columns = ["T", "remat", "peak RSS increase MiB"]
    if native_name:
        columns.append(native_name)
    columns += ["fwd+bwd ms", "time / plain (range)"]
    rows = []
    for result in results:
        row = [
            result["iterations"],
            "yes" if result["remat"] else "no",
            f"{result['peak_rss_increase_bytes'] / 2**20:.1f}",
        ]
        if native_name:
            row.append(f"{result['native_bytes'] / 2**20:.1f}")
        row += [
            f"{1e3 * result['time']['median_s']:.0f}",
            result["time_ratio_text"],
        ]
        rows.append(row)
    return _common.format_table(columns, rows)


def memory_per_iteration(results, remat):
    """Fit the peak RSS increase against T; return the slope in bytes."""
    points = [r for r in results if r["remat"] == remat]
    if len(points) < 2:
        return None
    iterations = [r["iterations"] for r in points]
    peaks = [r["peak_rss_increase_bytes"] for r in points]
    return float(np.polyfit(iterations, peaks, 1)[0])


def main(argv=None):
    _restart_with_malloc_settings()
    args = build_parser().parse_args(argv)
    _common.apply_thread_setting(args)
    jit = args.jit
    if jit is None:
        jit = _backend.backend() != "torch"

    machine = _common.machine_description()
    settings = {
        "batch": args.batch,
        "dim": args.dim,
        "memories": args.memories,
        "iterations": args.iterations,
        "jit": jit,
        "noise_stddev": args.noise_stddev,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "threads": args.threads,
        _MALLOC_VARIABLE: os.environ.get(_MALLOC_VARIABLE),
    }
    results = measure(args, jit)
    machine["load_average_1_5_15_at_end"] = list(os.getloadavg())
    slopes = {
        "plain": memory_per_iteration(results, remat=False),
        "remat": memory_per_iteration(results, remat=True),
    }

    print(_common.header("Peak memory against T", machine, settings))
    print(format_results(results, jit))
    if slopes["plain"] is not None:
        state_bytes = 4 * args.batch * args.dim
        print(
            "\nPeak RSS growth per iteration (least-squares slope): "
            f"{slopes['plain'] / 2**20:.2f} MiB without remat, "
            f"{slopes['remat'] / 2**20:.2f} MiB with remat; one float32 "
            f"state (batch, dim) is {state_bytes / 2**20:.2f} MiB."
        )

    path = _common.write_json(
        args.output,
        "peak_memory",
        {
            "settings": settings,
            "machine": machine,
            "results": results,
            "rss_slope_bytes_per_iteration": slopes,
        },
    )
    print(f"\nJSON: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
