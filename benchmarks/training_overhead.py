"""Training-step overhead of NIHR in a ResNet-18.

Times `model.train_on_batch` of a ResNet-18 (CIFAR stem, width multiplier
0.25 by default) with and without a `HopfieldRetrieval` layer after the
last residual block, on random 32x32x3 images. The layer then retrieves
each of the 4x4 positions of the last feature map over its channels. The
two models take turns in one process, so the ratio of their median step
times is fair even while the machine's load changes.

The images are random because the step time does not depend on the
pixel values; no data set is read.

Usage:

    KERAS_BACKEND=jax python -m benchmarks.training_overhead
    KERAS_BACKEND=tensorflow python -m benchmarks.training_overhead --jit
"""

import argparse
import os
import sys

import keras
import numpy as np

from applications import cli
from applications.models.resnet import build_resnet18
from benchmarks import _common


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.training_overhead",
        description="Measure the training step time of ResNet-18 with and "
        "without HopfieldRetrieval after the last block, on the backend "
        "set by KERAS_BACKEND.",
    )
    parser.add_argument(
        "--batch",
        type=cli.positive_int,
        default=128,
        help="batch size (default: %(default)s)",
    )
    parser.add_argument(
        "--width-multiplier",
        type=cli.positive_float,
        default=0.25,
        help="factor on the 64-128-256-512 channels (default: %(default)s)",
    )

    parser.add_argument(
        "--memories",
        type=cli.positive_int,
        default=64,
        help="number of memories P of the layer (default: %(default)s)",
    )
    parser.add_argument(
        "--iterations",
        type=cli.positive_int,
        default=5,
        help="number of iterations T of the layer (default: %(default)s)",
    )
    _common.add_layer_arguments(parser, beta=True)

    parser.add_argument(
        "--remat",
        action="store_true",
        help="build the layer with remat=True",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=3,
        help="training steps per timed run (default: %(default)s)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--jit",
        dest="jit_compile",
        action="store_const",
        const=True,
        help="compile the train step (XLA on JAX and TensorFlow, "
        "torch.compile on torch)",
    )
    mode.add_argument(
        "--no-jit",
        dest="jit_compile",
        action="store_const",
        const=False,
        help="run the train step without a JIT compiler",
    )
    parser.set_defaults(jit_compile="auto")
    _common.add_common_arguments(parser, warmup=2, repeats=7)
    return parser


def _compiled_model(retrieval_kwargs, args):
    keras.utils.set_random_seed(0)
    if retrieval_kwargs is None:
        model = build_resnet18((32, 32, 3), width=args.width_multiplier)
    else:
        model = build_resnet18(
            (32, 32, 3),
            width=args.width_multiplier,
            nihr_after=[8],
            num_memories=retrieval_kwargs["num_memories"],
            iterations=retrieval_kwargs["iterations"],
            beta=retrieval_kwargs["beta"],
            noise_stddev=retrieval_kwargs["noise_stddev"],
            nihr_seed=retrieval_kwargs["seed"],
            nihr_remat=retrieval_kwargs["remat"],
        )
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=args.jit_compile,
    )
    return model


def main(argv=None):
    args = build_parser().parse_args(argv)
    _common.apply_thread_setting(args)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(args.batch, 32, 32, 3)).astype("float32")
    labels = rng.integers(0, 10, size=(args.batch,)).astype("int32")
    retrieval_kwargs = {
        "num_memories": args.memories,
        "iterations": args.iterations,
        "beta": args.beta,
        "noise_stddev": args.noise_stddev,
        "seed": 0,
        "remat": args.remat,
    }
    models = {
        "plain": _compiled_model(None, args),
        "nihr": _compiled_model(retrieval_kwargs, args),
    }

    def steps(model):
        def run():
            for _ in range(args.steps):
                loss = model.train_on_batch(images, labels)
            return loss

        return run

    machine = _common.machine_description()
    timings = _common.time_interleaved(
        {name: steps(model) for name, model in models.items()},
        args.warmup,
        args.repeats,
    )
    machine["load_average_1_5_15_at_end"] = list(os.getloadavg())
    step_ms = {
        name: 1e3 * timing["median_s"] / args.steps
        for name, timing in timings.items()
    }
    ratio = _common.median_ratio(timings["nihr"], timings["plain"])
    settings = {
        "batch": args.batch,
        "width_multiplier": args.width_multiplier,
        "input_shape": [32, 32, 3],
        "retrieval": retrieval_kwargs,
        "jit_compile_requested": args.jit_compile,
        "jit_compile_used": bool(models["plain"].jit_compile),
        "steps_per_run": args.steps,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "threads": args.threads,
    }
    print(_common.header("Training overhead", machine, settings))
    feature_map = models["nihr"].get_layer("nihr_after_block8").input.shape
    rows = [
        [
            f"{args.batch}",
            f"{tuple(feature_map[1:])}",
            "yes" if settings["jit_compile_used"] else "no",
            f"{step_ms['plain']:.0f}",
            f"{step_ms['nihr']:.0f}",
            _common.format_ratio(timings["nihr"], timings["plain"]),
        ]
    ]
    columns = [
        "batch",
        "NIHR input (H, W, C)",
        "jit",
        "plain step ms",
        "with NIHR step ms",
        "ratio (range)",
    ]
    print(_common.format_table(columns, rows))
    path = _common.write_json(
        args.output,
        "training_overhead",
        {
            "settings": settings,
            "machine": machine,
            "step_ms": step_ms,
            "ratio": ratio,
            "timings": timings,
            "parameters": {
                name: model.count_params() for name, model in models.items()
            },
        },
    )
    print(f"\nJSON: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
