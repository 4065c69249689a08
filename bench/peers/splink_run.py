"""Splink (DuckDB backend) on the generated scenario or on FEBRL4, configured as Splink's own
examples do (see docs/peers.md), scored on the record pairs implied by its clusters.

    python splink_run.py scenario --scenario DIR --out DIR [--em docs|name-year|identifiers]
    python splink_run.py febrl4 --febrl4 DIR --out DIR [--threads N]

Writes DIR/splink-<name>.json, DIR/splink-<name>-links.csv (pairs at match probability >= 0.9,
in the engine's links.csv format) and DIR/splink-<name>-model.json, where <name> is the dataset,
followed by -em-<variant> for a variant of the EM training blocks.
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import fail  # noqa: E402

USUAL_THRESHOLD = 0.9  # match probability: the cut we report as "Splink's usual"
LOWEST_WEIGHT = -6.0  # predict() keeps pairs down to this match weight, for the sweep


def sweep_thresholds(extra=()) -> list[float]:
    """Match probabilities for match weights -6 … +24 in half-bit steps, plus the named ones."""
    ts = {round(2**w / (1 + 2**w), 8) for w in [x / 2 for x in range(-12, 49)]}
    ts.update(extra)
    return sorted(ts)


def splink_imports():
    try:
        import splink
        import splink.comparison_library as cl
        from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    except ImportError as e:  # pragma: no cover - environment problem
        fail(f"Splink is not installed in this Python ({sys.executable}): {e}")
    return splink, cl, DuckDBAPI, Linker, SettingsCreator, block_on


def make_db_api(DuckDBAPI, threads: int | None, memory_limit: str | None):
    import duckdb

    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", memory_limit):
            fail(f"--memory-limit {memory_limit!r}: give a size such as 8GB or 512MiB")
        con.execute(f"SET memory_limit = '{memory_limit}'")
    return DuckDBAPI(connection=con), con


# ------------------------------------------------------------------ the scenario


def scenario_model(cl, SettingsCreator, block_on, em: str = "docs"):
    blocking = [
        block_on("first_name", "surname1"),
        block_on("surname1", "dob"),
        block_on("first_name", "dob"),
        block_on("surname1", "surname2"),
        block_on("substr(first_name,1,2)", "substr(surname1,1,2)", "birth_year"),
        block_on("phone"),
        block_on("a_number"),
        block_on("curp"),
        block_on("dpi"),
        # names in each other's fields, and surnames in the wrong order
        "l.first_name = r.surname1 and l.surname1 = r.first_name",
        "l.surname1 = r.surname2 and l.surname2 = r.surname1",
    ]
    comparisons = [
        cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("middle_names"),
        cl.NameComparison("surname1").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname2").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d"),
        cl.ExactMatch("sex"),
        cl.ExactMatch("nationality"),
        cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
        cl.ExactMatch("a_number"),
        cl.ExactMatch("curp"),
        cl.ExactMatch("dpi"),
    ]
    settings = SettingsCreator(
        link_type="link_and_dedupe",
        unique_id_column_name="unique_id",
        source_dataset_column_name="source_dataset",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=comparisons,
        retain_intermediate_calculation_columns=False,
    )
    deterministic = [
        block_on("first_name", "surname1", "dob"),
        block_on("a_number"),
        block_on("curp"),
        block_on("dpi"),
    ]
    em_rules = {
        # as Splink's examples do: one session blocked on the names, one on the birth date
        "docs": [block_on("first_name", "surname1"), block_on("dob")],
        # a first tweak after reading the match-weights chart: the name block pulls in whole
        # families (m of an exact birth date comes out near 0.3), so add the birth year to it
        "name-year": [block_on("first_name", "surname1", "birth_year"), block_on("dob")],
        # repeat records sharing an official identifier (nearly all matches) and first name +
        # birth date: the engine's own two training rules
        "identifiers": [
            "l.a_number = r.a_number or l.curp = r.curp or l.dpi = r.dpi",
            block_on("first_name", "dob"),
        ],
    }[em]
    return settings, deterministic, 0.6, em_rules


def load_scenario(args):
    scenario = Path(args.scenario)
    tables = common.read_scenario(scenario)
    truth = common.read_truth(scenario / "truth" / "records.csv")
    return tables, truth


# ------------------------------------------------------------------ FEBRL4


def febrl4_model(cl, SettingsCreator, block_on):
    """The 'detailed model' of Splink's FEBRL4 example (docs/demos/examples/duckdb/febrl4)."""
    blocking = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    comparisons = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison(
            "date_of_birth",
            input_is_string=True,
            datetime_format="%Y%m%d",
            invalid_dates_as_null=True,
        ),
        cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
            term_frequency_adjustments=True
        ),
    ]
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        source_dataset_column_name="source_dataset",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=comparisons,
        retain_intermediate_calculation_columns=False,
    )
    deterministic = [
        block_on("soc_sec_id"),
        block_on("given_name", "surname", "date_of_birth"),
    ]
    em_rules = [block_on("date_of_birth"), block_on("postcode")]
    return settings, deterministic, 0.8, em_rules


FEBRL4_COLUMNS = [
    "rec_id",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
]


def load_febrl4(args):
    import pandas as pd

    base = Path(args.febrl4)
    tables = {}
    for source in ("febrl4a", "febrl4b"):
        path = base / f"{source}.csv"
        if not path.exists():
            fail(f"{path} is missing: run febrl4_export.py --out {base} first")
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = [c for c in FEBRL4_COLUMNS if c not in df.columns]
        if missing:
            fail(f"{path}: columns {missing} are missing")
        # as the example's prepare_data: trimmed strings; empty means null
        df = df[FEBRL4_COLUMNS].apply(lambda s: s.str.strip()).replace({"": None})
        df = df.rename(columns={"rec_id": "unique_id"})
        df.insert(1, "source_dataset", source)
        tables[source] = df
    truth = common.read_truth(base / "truth" / "records.csv")
    return tables, truth


# ------------------------------------------------------------------ the run


def run(args) -> dict:
    splink, cl, DuckDBAPI, Linker, SettingsCreator, block_on = splink_imports()
    logging.getLogger("splink").setLevel(logging.WARNING)
    timer = common.Timer()
    if args.dataset == "febrl4" and args.em != "docs":
        fail("--em applies to the scenario only; FEBRL4 follows Splink's FEBRL4 example")
    name = args.dataset if args.em == "docs" else f"{args.dataset}-em-{args.em}"
    if args.dataset == "scenario":
        tables, truth = load_scenario(args)
        settings, deterministic, recall, em_rules = scenario_model(
            cl, SettingsCreator, block_on, args.em
        )
        u_pairs = 1e7
    else:
        tables, truth = load_febrl4(args)
        settings, deterministic, recall, em_rules = febrl4_model(cl, SettingsCreator, block_on)
        u_pairs = 1e7
    keys = [(s, rid) for s, df in tables.items() for rid in df["unique_id"]]
    common.check_truth_covers(truth, keys)
    timer.step("read")

    db_api, con = make_db_api(DuckDBAPI, args.threads, args.memory_limit)
    frames = [
        db_api.register(df, table_name=name.replace("-", "_")) for name, df in tables.items()
    ]
    linker = Linker(frames, settings, log_level=logging.WARNING)

    linker.training.estimate_probability_two_random_records_match(deterministic, recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=1)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    timer.step("train")

    predictions = linker.inference.predict(threshold_match_weight=LOWEST_WEIGHT)
    timer.step("predict")

    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=USUAL_THRESHOLD
    )
    clustered = clusters.as_pandas_dataframe()[["cluster_id", "source_dataset", "unique_id"]]
    timer.step("cluster")
    splink_seconds = timer.total()
    rss = common.peak_rss_mb()

    cluster_of = {
        (s, u): c
        for c, s, u in zip(clustered.cluster_id, clustered.source_dataset, clustered.unique_id)
    }
    if len(cluster_of) != len(keys):
        fail(f"Splink clustered {len(cluster_of)} records of {len(keys)}")
    at_usual = common.cluster_metrics(cluster_of, truth)

    pred = predictions.as_pandas_dataframe()
    edges = [
        ((sl, ul), (sr, ur), float(p))
        for sl, ul, sr, ur, p in zip(
            pred.source_dataset_l,
            pred.unique_id_l,
            pred.source_dataset_r,
            pred.unique_id_r,
            pred.match_probability,
        )
    ]
    extra = (USUAL_THRESHOLD, 0.99, 0.5)
    sweep = common.sweep_connected_components(keys, edges, truth, sweep_thresholds(extra))
    by_t = {m["threshold"]: m for m in sweep}
    if by_t[USUAL_THRESHOLD]["true_positives"] != at_usual["true_positives"] or (
        by_t[USUAL_THRESHOLD]["predicted_pairs"] != at_usual["predicted_pairs"]
    ):
        fail(
            "the threshold sweep's clusters at 0.9 differ from Splink's own clustering: "
            f"{by_t[USUAL_THRESHOLD]} vs {at_usual}"
        )
    oracle = common.best(sweep)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    links_path = out / f"splink-{name}-links.csv"
    n_links = write_links(pred, links_path, USUAL_THRESHOLD)
    linker.misc.save_model_to_json(str(out / f"splink-{name}-model.json"), overwrite=True)
    threads = con.execute("select current_setting('threads')").fetchone()[0]
    memory_limit = con.execute("select current_setting('memory_limit')").fetchone()[0]

    result = {
        "peer": "splink",
        "dataset": args.dataset,
        "em_training": args.em,
        "input": str(Path(args.scenario if args.dataset == "scenario" else args.febrl4)),
        "versions": common.versions("splink", "duckdb"),
        "machine": common.machine(),
        "duckdb_threads": int(threads),
        "duckdb_memory_limit": memory_limit,
        "records": {s: len(df) for s, df in tables.items()},
        "link_type": "link_and_dedupe" if args.dataset == "scenario" else "link_only",
        "probability_two_random_records_match": linker._settings_obj._probability_two_random_records_match,
        "u_max_pairs": u_pairs,
        "em_blocking_rules": [_rule_sql(r) for r in em_rules],
        "predictions_kept": len(pred),
        "predictions_kept_min_weight": LOWEST_WEIGHT,
        "seconds": {**timer.steps, "total": splink_seconds},
        "peak_rss_mb": rss,
        "at_usual_threshold": {"threshold_match_probability": USUAL_THRESHOLD, **at_usual},
        "at_example_threshold": {"threshold_match_probability": 0.99, **by_t[0.99]},
        "oracle_best_threshold": {
            "note": "best F1 over the sweep, chosen with the truth: an oracle, not a deployable setting",
            "threshold_match_probability": oracle["threshold"],
            "threshold_match_weight": round(math.log2(oracle["threshold"] / (1 - oracle["threshold"])), 2)
            if 0 < oracle["threshold"] < 1
            else None,
            **{k: v for k, v in oracle.items() if k != "threshold"},
        },
        "sweep": sweep,
        "links_csv": str(links_path),
        "links_written": n_links,
    }
    common.write_json(out / f"splink-{name}.json", result)
    return result


def _rule_sql(rule) -> str:
    return rule if isinstance(rule, str) else rule.get_blocking_rule("duckdb").blocking_rule_sql


def write_links(pred, path: Path, threshold: float) -> int:
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            ["left_source", "left_id", "right_source", "right_id", "match_weight", "match_probability"]
        )
        keep = pred[pred.match_probability >= threshold].sort_values(
            ["match_weight"], ascending=False
        )
        for sl, ul, sr, ur, mw, mp in zip(
            keep.source_dataset_l,
            keep.unique_id_l,
            keep.source_dataset_r,
            keep.unique_id_r,
            keep.match_weight,
            keep.match_probability,
        ):
            w.writerow([sl, ul, sr, ur, f"{mw:.3f}", f"{mp:.6f}"])
            n += 1
    return n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=["scenario", "febrl4"])
    parser.add_argument("--scenario", help="directory written by `enlace generate`")
    parser.add_argument("--febrl4", help="directory written by febrl4_export.py")
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--em",
        choices=["docs", "name-year", "identifiers"],
        default="docs",
        help="EM training blocks for the scenario (default: as Splink's examples; see docs/peers.md)",
    )
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: its own)")
    parser.add_argument(
        "--memory-limit",
        default=None,
        help="DuckDB memory limit, e.g. 8GB (default: DuckDB's own, 80%% of the machine's memory)",
    )
    args = parser.parse_args()
    if args.dataset == "scenario" and not args.scenario:
        fail("scenario: give --scenario DIR")
    if args.dataset == "febrl4" and not args.febrl4:
        fail("febrl4: give --febrl4 DIR")
    r = run(args)
    u, o = r["at_usual_threshold"], r["oracle_best_threshold"]
    print(
        f"splink {args.dataset} (EM {args.em}): {sum(r['records'].values())} records, "
        f"{r['seconds']['total']:.1f} s, peak {r['peak_rss_mb']:.0f} MB; "
        f"p>=0.9: P {u['precision']:.3f} R {u['recall']:.3f} F1 {u['f1']:.3f}; "
        f"oracle p>={o['threshold_match_probability']:.4g}: "
        f"P {o['precision']:.3f} R {o['recall']:.3f} F1 {o['f1']:.3f}"
    )


if __name__ == "__main__":
    common.run_main(main)
