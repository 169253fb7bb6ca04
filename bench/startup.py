"""Start-up: `aios --help` and `aios runs` against a bare Typer app's `--help`, in one run.

Run: .venv/bin/python bench/startup.py [--repeats 5]

Each command runs as a fresh process (`python -m ...`, as the console script does), `repeats`
times after one warm-up; the medians are printed with the ratio of `aios --help` to the bare
Typer app's `--help` (target: within 1.5x) and `aios runs`' wall time (target: under 0.6 s on
a quiet machine) on an empty store in a temporary AIOS_HOME. The load average is printed next
to the figures: on a busy machine every number grows, the ratio much less.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = '''
import typer
app = typer.Typer(help="A bare Typer app.", add_completion=False)
@app.command()
def hello(name: str) -> None:
    """Say hello."""
@app.command()
def bye() -> None:
    """Say bye."""
app()
'''


def _time(argv: list[str], env: dict[str, str], repeats: int) -> float:
    subprocess.run(argv, env=env, capture_output=True, check=True)  # warm-up (and migrate)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE)
        env = {**os.environ, "AIOS_HOME": str(Path(tmp) / "home")}
        env.pop("AIOS_DATABASE_URL", None)
        load = os.getloadavg()
        bare_help = _time([sys.executable, str(bare), "--help"], env, args.repeats)
        aios_help = _time([sys.executable, "-m", "aios.cli", "--help"], env, args.repeats)
        aios_runs = _time([sys.executable, "-m", "aios.cli", "runs"], env, args.repeats)
    print(f"start-up ({args.repeats} repeats, medians; load average {load[0]:.2f}):")
    print(f"  bare Typer --help  {bare_help * 1000:7.0f} ms")
    print(f"  aios --help        {aios_help * 1000:7.0f} ms  = {aios_help / bare_help:.2f}x "
          "the bare app (target <= 1.5x)")
    print(f"  aios runs          {aios_runs * 1000:7.0f} ms  (target < 600 ms on a quiet "
          "machine)")


if __name__ == "__main__":
    main()
