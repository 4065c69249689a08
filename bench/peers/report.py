"""Gathers the peers' result files in an output directory into peers.json and prints a short
table.

    python report.py --out DIR [--command "the command line"]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import fail  # noqa: E402

PARTS = {
    "splink_scenario": "splink-scenario.json",
    "splink_scenario_em_name_year": "splink-scenario-em-name-year.json",
    "splink_scenario_em_identifiers": "splink-scenario-em-identifiers.json",
    "anonlink_scenario": "anonlink.json",
    "anonlink_kernel": "kernel.json",
    "splink_febrl4": "splink-febrl4.json",
}


def load(out: Path) -> dict:
    found = {}
    for key, name in PARTS.items():
        path = out / name
        if path.exists():
            with open(path, encoding="utf-8") as f:
                found[key] = json.load(f)
    if not found:
        fail(f"no peer results in {out}")
    return found


def compact(found: dict) -> dict:
    """The figures worth quoting, without the sweeps (they stay in the per-peer files)."""
    summary = {}
    for key in ("splink_scenario", "splink_scenario_em_name_year", "splink_scenario_em_identifiers"):
        s = found.get(key)
        if s is None:
            continue
        if s.get("finished") is False:
            summary[key] = {k: s[k] for k in ("finished", "budget_seconds") if k in s}
        else:
            summary[key] = {
                "em_training": s["em_training"],
                "em_blocking_rules": s["em_blocking_rules"],
                "records": s["records"],
                "seconds": s["seconds"],
                "peak_rss_mb": s["peak_rss_mb"],
                "duckdb_threads": s["duckdb_threads"],
                "at_usual_threshold": s["at_usual_threshold"],
                "oracle_best_threshold": s["oracle_best_threshold"],
                "links_csv": s["links_csv"],
            }
    a = found.get("anonlink_scenario")
    if a is not None:
        summary["anonlink_scenario"] = {
            "records": a["records"],
            "encoding": a["encoding"],
            "matching": a["matching"],
            "best_threshold": a["best_threshold"],
            "per_pair_best": {k: v["best"] for k, v in a["per_pair"].items()},
            "one_to_one_max_recall": a["one_to_one_max_recall"]["recall"],
            "per_pair_one_to_one_max_recall": {
                k: v["one_to_one_max_recall"] for k, v in a["per_pair"].items()
            },
        }
    k = found.get("anonlink_kernel")
    if k is not None:
        summary["anonlink_kernel"] = {
            x: k[x]
            for x in (
                "left",
                "right",
                "bits",
                "threshold",
                "comparisons_per_second_wall",
                "comparisons_per_cpu_second",
                "runs",
            )
        }
    f = found.get("splink_febrl4")
    if f is not None and f.get("finished") is False:
        summary["splink_febrl4"] = {k: f[k] for k in ("finished", "budget_seconds")}
    elif f is not None:
        summary["splink_febrl4"] = {
            "records": f["records"],
            "seconds": f["seconds"],
            "peak_rss_mb": f["peak_rss_mb"],
            "at_usual_threshold": f["at_usual_threshold"],
            "at_example_threshold": f["at_example_threshold"],
            "oracle_best_threshold": f["oracle_best_threshold"],
        }
    return summary


def prf(m: dict) -> str:
    return f"{m['precision']:.3f}  {m['recall']:.3f}  {m['f1']:.3f}"


def table(summary: dict) -> str:
    lines = [f"{'peer / data / threshold':<62} {'P':>5}  {'R':>5}  {'F1':>5}   notes"]
    for key, em in (
        ("splink_scenario", "docs"),
        ("splink_scenario_em_name_year", "name-year"),
        ("splink_scenario_em_identifiers", "identifiers"),
    ):
        s = summary.get(key)
        if s is None:
            continue
        label = f"splink, scenario, EM {em}"
        if s.get("finished") is False:
            lines.append(f"{label:<62} did not finish within {s.get('budget_seconds')} s")
            continue
        u, o = s["at_usual_threshold"], s["oracle_best_threshold"]
        n = sum(s["records"].values())
        lines.append(
            f"{label + ', p >= 0.9':<62} {prf(u)}   {n} records, "
            f"{s['seconds']['total']:.1f} s, peak {s['peak_rss_mb']:.0f} MB"
        )
        lines.append(
            f"{label + ', p >= %.4g (oracle)' % o['threshold_match_probability']:<62} {prf(o)}"
        )
    a = summary.get("anonlink_scenario")
    if a is not None:
        b = a["best_threshold"]
        lines.append(
            f"{'clkhash+anonlink, scenario, Dice >= %.2f (best, cross-source)' % b['threshold']:<62} {prf(b)}   "
            f"encoding {a['encoding']['records_per_second']:,} records/s; "
            f"one-to-one recall ceiling {a['one_to_one_max_recall']:.3f}"
        )
    k = summary.get("anonlink_kernel")
    if k is not None:
        lines.append(
            f"{'anonlink Dice kernel, %d x %d x %d bits, 1 thread' % (k['left'], k['right'], k['bits']):<62} "
            f"{'':>19}   {k['comparisons_per_second_wall'] / 1e6:,.0f} M comparisons/s wall"
        )
    f = summary.get("splink_febrl4")
    if f is not None and f.get("finished") is False:
        lines.append(f"{'splink, FEBRL4':<62} did not finish within {f.get('budget_seconds')} s")
    elif f is not None:
        u, e, o = f["at_usual_threshold"], f["at_example_threshold"], f["oracle_best_threshold"]
        lines.append(f"{'splink, FEBRL4, p >= 0.9':<62} {prf(u)}   {f['seconds']['total']:.1f} s")
        lines.append(f"{'splink, FEBRL4, p >= 0.99 (its example)':<62} {prf(e)}")
        lines.append(
            f"{'splink, FEBRL4, p >= %.4g (oracle)' % o['threshold_match_probability']:<62} {prf(o)}"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--command", default=None)
    args = parser.parse_args()
    out = Path(args.out)
    found = load(out)
    summary = compact(found)
    doc = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": args.command,
        "machine": common.machine(),
        "results": summary,
        "files": {k: PARTS[k] for k in found},
    }
    common.write_json(out / "peers.json", doc)
    print(table(summary))
    print(f"written: {out / 'peers.json'}")


if __name__ == "__main__":
    common.run_main(main)
