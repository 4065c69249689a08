"""anonlink's accelerated Dice kernel on random 1024-bit filters, one thread: the same shape as
the engine's own kernel benchmark (2,048 × 65,536 filters, about a quarter of the bits set —
each 64-bit word is the AND of two random words — threshold 0.9).

    python kernel_speed.py --out DIR [--left 2048] [--right 65536] [--repeats 3]

Writes DIR/kernel.json with comparisons per wall second and per CPU second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import fail  # noqa: E402

BITS = 1024


def random_filters(n: int, rng):
    from bitarray import bitarray

    words = rng.integers(0, 2**64, size=(n, BITS // 64), dtype="uint64", endpoint=False)
    words &= rng.integers(0, 2**64, size=(n, BITS // 64), dtype="uint64", endpoint=False)
    raw = words.tobytes()
    step = BITS // 8
    out = []
    for i in range(n):
        b = bitarray()
        b.frombytes(raw[i * step : (i + 1) * step])
        out.append(b)
    return out


def run(args) -> dict:
    try:
        import numpy as np
        from anonlink.similarities import dice_coefficient_accelerated
    except ImportError as e:
        fail(f"anonlink is not installed in this Python ({sys.executable}): {e}")
    rng = np.random.default_rng(42)
    left = random_filters(args.left, rng)
    right = random_filters(args.right, rng)
    density = sum(f.count() for f in left[:256]) / (256 * BITS)
    comparisons = args.left * args.right

    runs = []
    for _ in range(args.repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        sims, _ = dice_coefficient_accelerated([left, right], args.threshold)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        runs.append({"wall_s": round(wall, 4), "cpu_s": round(cpu, 4), "candidates": len(sims)})
    best_wall = min(r["wall_s"] for r in runs)
    best_cpu = min(r["cpu_s"] for r in runs)
    result = {
        "peer": "anonlink",
        "what": "dice_coefficient_accelerated, many-to-many, includes anonlink's own packing "
        "and popcount of the filters, single-threaded",
        "versions": common.versions("anonlink", "bitarray"),
        "machine": common.machine(),
        "bits": BITS,
        "left": args.left,
        "right": args.right,
        "threshold": args.threshold,
        "bit_density": round(density, 3),
        "comparisons": comparisons,
        "runs": runs,
        "comparisons_per_second_wall": round(comparisons / best_wall),
        "comparisons_per_second_wall_median": round(
            comparisons / statistics.median(r["wall_s"] for r in runs)
        ),
        "comparisons_per_cpu_second": round(comparisons / best_cpu) if best_cpu else None,
    }
    common.write_json(Path(args.out) / "kernel.json", result)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--left", type=int, default=2048)
    parser.add_argument("--right", type=int, default=65536)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.left < 1 or args.right < 1 or args.repeats < 1:
        fail("--left, --right and --repeats must be positive")
    r = run(args)
    print(
        f"anonlink Dice kernel: {r['comparisons_per_second_wall'] / 1e6:.0f} M comparisons/s wall "
        f"({r['comparisons_per_cpu_second'] / 1e6:.0f} M per CPU-second), "
        f"{r['left']} x {r['right']} x {BITS} bits, 1 thread"
    )


if __name__ == "__main__":
    common.run_main(main)
