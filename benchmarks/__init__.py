"""Speed and memory benchmarks of `keras_nihr`, one module per question.

Run each with `KERAS_BACKEND=<backend> python -m benchmarks.<name>`; the
tables and the commands that reproduce them are in `docs/benchmarks.md`.
Nothing here is collected by pytest, and no test asserts a timing.
"""
