"""Throughput of `HopfieldRetrieval` against the plain-matmul limit.

Each iteration of the layer multiplies the normalized queries `(N, D)` by
the memories `(D, P)` and the attention weights `(N, P)` by the memories
`(P, D)`, where `N = batch * positions`. These two matmuls dominate the
cost, so the layer does `4 * N * D * P * T` floating-point operations per
forward pass and three times as many per forward and backward pass.

The reference is the same chain of matmuls without normalization and
softmax, `x <- (x @ W.T) @ W` repeated `T` times on inputs of the layer's
shape, compiled or run eagerly like the layer. The ratio of the two rates
shows how much the normalization, softmax and noise cost on top of the
matmuls; 1.0 is the limit. The two take turns in every timed round, and
the ratio is the median of the per-round ratios.

Forward passes run in inference mode (`training=False`, no noise), as in
`model.predict`. Forward and backward passes run in training mode with
`--noise-stddev` noise, as in `model.fit`, and differentiate the sum of
the outputs with respect to the inputs and the memories.

Usage:

    KERAS_BACKEND=jax python -m benchmarks.layer_throughput
    KERAS_BACKEND=torch python -m benchmarks.layer_throughput --jit \\
        --batch 4096 --dim 128 --memories 512,1024 --iterations 10
"""

import argparse
import itertools
import os
import sys

import keras
import numpy as np

from benchmarks import _backend
from benchmarks import _common
from keras_nihr.layers import HopfieldRetrieval

# (batch, spatial side, dim, memories, iterations); a spatial side of 0
# means latent vectors (batch, dim), S means feature maps (batch, S, S,
# dim). Small enough to finish in minutes on two CPU cores.
DEFAULT_GRID = (
    (4096, 0, 128, 512, 10),
    (4096, 0, 128, 256, 10),
    (256, 16, 64, 64, 5),
    (64, 16, 64, 64, 5),
    (256, 16, 64, 128, 5),
)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.layer_throughput",
        description="Measure HopfieldRetrieval throughput in GFLOP/s "
        "against a plain matmul chain of the same shapes, on the backend "
        "set by KERAS_BACKEND. Give any of --batch, --spatial, --dim, "
        "--memories, --iterations to replace the default grid by the "
        "product of the given lists (unset ones take the grid centre "
        "4096, 0, 128, 512, 10).",
    )
    lists = (
        ("--batch", "batch sizes"),
        (
            "--spatial",
            "spatial sides S for (batch, S, S, dim) feature maps; "
            "0 means latent vectors (batch, dim)",
        ),
        ("--dim", "vector dimensions D (channels)"),
        ("--memories", "numbers of memories P"),
        ("--iterations", "numbers of iterations T"),
    )
    for flag, text in lists:
        parser.add_argument(
            flag,
            type=_parse_list_with_zero
            if flag == "--spatial"
            else _common.parse_int_list,
            default=None,
            help=f"comma-separated {text}",
        )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--jit",
        dest="modes",
        action="store_const",
        const=(True,),
        help="measure only compiled functions",
    )
    mode.add_argument(
        "--no-jit",
        dest="modes",
        action="store_const",
        const=(False,),
        help="measure only eager functions",
    )
    parser.set_defaults(modes=(False, True))
    parser.add_argument(
        "--beta",
        type=float,
        default=8.0,
        help="inverse temperature of the layer (default: %(default)s)",
    )
    parser.add_argument(
        "--noise-stddev",
        type=float,
        default=0.1,
        help="noise standard deviation in the forward and backward "
        "passes (default: %(default)s)",
    )
    _common.add_common_arguments(parser, warmup=2, repeats=5)
    return parser


def _parse_list_with_zero(text):
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"Expected comma-separated ints. Received: {text!r}"
        ) from error
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(
            f"Expected one or more ints >= 0. Received: {text!r}"
        )
    return values


def grid_from_arguments(args):
    requested = [
        args.batch,
        args.spatial,
        args.dim,
        args.memories,
        args.iterations,
    ]
    if all(value is None for value in requested):
        return list(DEFAULT_GRID)
    centre = DEFAULT_GRID[0]
    lists = [
        value if value is not None else [default]
        for value, default in zip(requested, centre, strict=True)
    ]
    return list(itertools.product(*lists))


def forward_flops(rows, dim, memories, iterations):
    return 4 * rows * dim * memories * iterations


def _matmul_chain(iterations):
    def chain(weights, x):
        transposed = keras.ops.transpose(weights)
        for _ in range(iterations):
            x = keras.ops.matmul(keras.ops.matmul(x, transposed), weights)
        return x

    return chain


def _layer_function(layer, training):
    seed_state = [variable.value for variable in layer.non_trainable_variables]

    def forward(memories, x):
        outputs, _ = layer.stateless_call(
            [memories], seed_state, x, training=training
        )
        return outputs

    return forward


def _sum_of(function):
    def loss(*args):
        return keras.ops.sum(function(*args))

    return loss


def measure_point(point, jit, args):
    batch, side, dim, num_memories, iterations = point
    shape = (batch, dim) if side == 0 else (batch, side, side, dim)
    rows = batch * max(side, 1) ** 2
    rng = np.random.default_rng(0)
    x = _backend.to_tensor(rng.normal(size=shape).astype("float32"))
    memories = rng.normal(size=(num_memories, dim)).astype("float32")
    # Reference weights with operator norm below one keep the chain's
    # values from growing over the iterations.
    scale = 1.0 / (np.sqrt(num_memories) + np.sqrt(dim))
    reference_weights = _backend.to_tensor(
        (scale * rng.normal(size=(num_memories, dim))).astype("float32")
    )
    layer = HopfieldRetrieval(
        initial_memories=memories,
        iterations=iterations,
        beta=args.beta,
        noise_stddev=args.noise_stddev,
        seed=0,
    )
    layer.build(shape)
    memory_weight = layer.memories.value
    _backend.reset_compiler_caches()

    layer_forward = _backend.compile_function(
        _layer_function(layer, training=False), jit
    )
    chain_forward = _backend.compile_function(_matmul_chain(iterations), jit)
    layer_gradients = _backend.gradient_function(
        _sum_of(_layer_function(layer, training=True)), jit
    )
    chain_gradients = _backend.gradient_function(
        _sum_of(_matmul_chain(iterations)), jit
    )
    timings = _common.time_interleaved(
        {
            "layer_forward": lambda: layer_forward(memory_weight, x),
            "matmul_forward": lambda: chain_forward(reference_weights, x),
        },
        args.warmup,
        args.repeats,
    )
    timings.update(
        _common.time_interleaved(
            {
                "layer_forward_backward": lambda: layer_gradients(
                    memory_weight, x
                ),
                "matmul_forward_backward": lambda: chain_gradients(
                    reference_weights, x
                ),
            },
            args.warmup,
            args.repeats,
        )
    )
    flops = forward_flops(rows, dim, num_memories, iterations)
    results = []
    for name, multiple in (("forward", 1), ("forward_backward", 3)):
        layer_time = timings[f"layer_{name}"]["median_s"]
        matmul_time = timings[f"matmul_{name}"]["median_s"]
        results.append(
            {
                "batch": batch,
                "spatial": side,
                "rows": rows,
                "dim": dim,
                "memories": num_memories,
                "iterations": iterations,
                "jit": jit,
                "pass": name,
                "flops": multiple * flops,
                "layer_gflops": multiple * flops / layer_time / 1e9,
                "matmul_gflops": multiple * flops / matmul_time / 1e9,
                "ratio": _common.median_ratio(
                    timings[f"matmul_{name}"], timings[f"layer_{name}"]
                ),
                "layer": timings[f"layer_{name}"],
                "matmul": timings[f"matmul_{name}"],
            }
        )
    return results


def format_results(results):
    columns = [
        "input shape",
        "P",
        "T",
        "jit",
        "pass",
        "layer GFLOP/s",
        "matmul GFLOP/s",
        "ratio (range)",
        "layer ms",
        "layer first call s",
    ]
    rows = []
    for result in results:
        side = result["spatial"]
        shape = (
            f"({result['batch']}, {result['dim']})"
            if side == 0
            else f"({result['batch']}, {side}, {side}, {result['dim']})"
        )
        rows.append(
            [
                shape,
                result["memories"],
                result["iterations"],
                "yes" if result["jit"] else "no",
                result["pass"].replace("_", "+"),
                f"{result['layer_gflops']:.1f}",
                f"{result['matmul_gflops']:.1f}",
                _common.format_ratio(result["matmul"], result["layer"]),
                f"{1e3 * result['layer']['median_s']:.1f}",
                f"{result['layer']['first_call_s']:.2f}",
            ]
        )
    return _common.format_table(columns, rows)


def main(argv=None):
    args = build_parser().parse_args(argv)
    _common.apply_thread_setting(args)
    grid = grid_from_arguments(args)
    machine = _common.machine_description()
    settings = {
        "grid": grid,
        "jit_modes": list(args.modes),
        "beta": args.beta,
        "noise_stddev": args.noise_stddev,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "threads": args.threads,
    }
    results = []
    for jit in args.modes:
        for point in grid:
            results.extend(measure_point(point, jit, args))
    machine["load_average_1_5_15_at_end"] = list(os.getloadavg())
    print(_common.header("Layer throughput", machine, settings))
    print(format_results(results))
    path = _common.write_json(
        args.output,
        "layer_throughput",
        {"settings": settings, "machine": machine, "results": results},
    )
    print(f"\nJSON: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
