"""Run every benchmark in turn: ``python -m bench``."""

from __future__ import annotations

from bench import bench_instrumentation


def main() -> None:
    bench_instrumentation.main()


if __name__ == "__main__":
    main()
