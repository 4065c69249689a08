"""Shared pieces of the peer benchmark: reading the generated scenario's three layouts into one
table, the ground truth, pairwise evaluation of clusters and links, timing and JSON output.

The reader does what a competent user of a linkage library would do before handing the files
over: read each file in its declared encoding, take the columns its mapping names, lower-case,
strip accents and punctuation, split the US LAST_NAME into two surnames, parse the birth date in
the order the mapping declares, map sex and nationality codes, keep phone digits and the
identifiers each layout has. It is deliberately not a copy of the engine's normaliser: no
nickname tables, no phonetic keys, no check digits.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import re
import resource
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

# Files of the scenario and the encoding each is written in (docs/scenario.md).
LAYOUTS = {
    "us-encounters": ("us-encounters.csv", "utf-8"),
    "mx-registros": ("mx-registros.csv", "cp1252"),
    "gt-registros": ("gt-registros.csv", "utf-8"),
}

COLUMNS = [
    "unique_id",
    "source_dataset",
    "given_names",
    "first_name",
    "middle_names",
    "surname1",
    "surname2",
    "dob",
    "birth_year",
    "sex",
    "nationality",
    "phone",
    "a_number",
    "curp",
    "dpi",
]


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


def fail(message: str) -> None:
    raise BenchError(message)


def run_main(main) -> None:
    """Runs a script's main, turning BenchError into one clear line on stderr and exit 1."""
    try:
        main()
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


# ---------------------------------------------------------------- text folding

_PUNCT = re.compile(r"[^\w\s-]")
_SPACES = re.compile(r"\s+")


def fold(value: str | None) -> str:
    """Lower-case, accents stripped (ñ becomes n), punctuation dropped, spaces collapsed."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _PUNCT.sub(" ", text.lower()).replace("_", " ")
    return _SPACES.sub(" ", text).strip()


def none_if_empty(value: str) -> str | None:
    return value if value else None


PARTICLES = {"de", "del", "la", "las", "los", "y"}
SUFFIXES = {"jr", "sr", "ii", "iii"}


def split_surnames(last: str) -> tuple[str, str]:
    """US LAST_NAME holds one surname or two, joined by a space or a hyphen. Particles
    (de, del, la, ...) stay attached to the surname they precede; JR/SR suffixes are dropped."""
    text = fold(last)
    if "-" in text:
        first, _, rest = text.partition("-")
        return first.strip(), rest.replace("-", " ").strip()
    tokens = [t for t in text.split() if t not in SUFFIXES]
    surnames: list[str] = []
    pending: list[str] = []
    for token in tokens:
        pending.append(token)
        if token not in PARTICLES:
            surnames.append(" ".join(pending))
            pending = []
    if pending:  # a trailing particle: attach it to the last surname
        if surnames:
            surnames[-1] += " " + " ".join(pending)
        else:
            surnames.append(" ".join(pending))
    if not surnames:
        return "", ""
    return surnames[0], " ".join(surnames[1:])


def split_given(given: str) -> tuple[str, str]:
    tokens = fold(given).replace("-", " ").split()
    if not tokens:
        return "", ""
    return tokens[0], " ".join(tokens[1:])


# ---------------------------------------------------------------- dates, codes, phones

DATE_FORMATS = {"mdy": "%m/%d/%Y", "dmy": "%d/%m/%Y", "ymd": "%Y-%m-%d"}


def parse_date(value: str, order: str) -> tuple[str | None, int | None]:
    """(ISO date or None, birth year or None) in the order the mapping declares. A year alone
    (Guatemala) gives the year and no date; an impossible date gives neither."""
    value = (value or "").strip()
    if not value:
        return None, None
    if re.fullmatch(r"\d{4}", value):
        return None, int(value)
    try:
        d = _dt.datetime.strptime(value, DATE_FORMATS[order]).date()
    except ValueError:
        return None, None
    return d.isoformat(), d.year


SEX_CODES = {
    "us-encounters": {"m": "m", "f": "f"},
    "mx-registros": {"h": "m", "m": "f"},  # hombre, mujer
    "gt-registros": {"m": "m", "f": "f", "h": "m"},
}


def nationality(value: str) -> str | None:
    v = fold(value)
    for prefix, code in (
        ("mex", "MX"),
        ("guat", "GT"),
        ("hond", "HN"),
        ("el salv", "SV"),
        ("salv", "SV"),
        ("united", "US"),
        ("estadoun", "US"),
    ):
        if v.startswith(prefix):
            return code
    return None


COUNTRY_DIAL = {"us-encounters": "1", "mx-registros": "52", "gt-registros": "502"}
NATIONAL_LENGTH = {"us-encounters": 10, "mx-registros": 10, "gt-registros": 8}


def phone_digits(value: str, source: str) -> str | None:
    """Digits with the country code: `+CC`/`00CC` kept as written, a national number of the
    source country's length prefixed with its dialling code."""
    raw = (value or "").strip()
    digits = re.sub(r"\D", "", raw)
    if not digits:
        return None
    if raw.startswith("+"):
        return digits
    if digits.startswith("00"):
        return digits[2:]
    if len(digits) == NATIONAL_LENGTH[source]:
        return COUNTRY_DIAL[source] + digits
    return digits


def digits_only(value: str, width: int | None = None) -> str | None:
    digits = re.sub(r"\D", "", value or "")
    if not digits:
        return None
    return digits.zfill(width) if width else digits


# ---------------------------------------------------------------- the scenario


def _open_rows(path: Path, encoding: str):
    if not path.exists():
        fail(f"{path} is missing: is this a directory written by `enlace generate`?")
    with open(path, newline="", encoding=encoding) as f:
        reader = csv.DictReader(f)
        for row in reader:
            yield row


def _need(row: dict, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in row]
    if missing:
        fail(f"{path}: columns {missing} are missing (found {list(row)})")


def read_source(scenario: Path, source: str) -> pd.DataFrame:
    """One source's file as the common table."""
    file, encoding = LAYOUTS[source]
    path = scenario / file
    rows = []
    sexes = SEX_CODES[source]
    for i, row in enumerate(_open_rows(path, encoding)):
        if source == "us-encounters":
            if i == 0:
                _need(row, ["RECORD_ID", "FIRST_NAME", "LAST_NAME", "DOB", "SEX"], path)
            rid = row["RECORD_ID"]
            first_field, first_rest = split_given(row["FIRST_NAME"])
            middle = " ".join(x for x in (first_rest, fold(row.get("MIDDLE_NAME"))) if x)
            first = first_field
            s1, s2 = split_surnames(row["LAST_NAME"])
            dob, year = parse_date(row["DOB"], "mdy")
            sex = sexes.get(fold(row["SEX"]))
            nat = nationality(row.get("COUNTRY_OF_CITIZENSHIP", ""))
            phone = phone_digits(row.get("PHONE", ""), source)
            ids = {"a_number": digits_only(row.get("A_NUMBER", ""), 9)}
        elif source == "mx-registros":
            if i == 0:
                _need(row, ["folio", "nombres", "primer_apellido", "fecha_nacimiento"], path)
            rid = row["folio"]
            first, middle = split_given(row["nombres"])
            s1, s2 = fold(row["primer_apellido"]), fold(row.get("segundo_apellido"))
            dob, year = parse_date(row["fecha_nacimiento"], "dmy")
            sex = sexes.get(fold(row["sexo"]))
            nat = nationality(row.get("nacionalidad", ""))
            phone = phone_digits(row.get("telefono", ""), source)
            curp = (row.get("curp") or "").strip().upper()
            ids = {"curp": curp or None}
        else:
            if i == 0:
                _need(row, ["id_registro", "primer_nombre", "primer_apellido"], path)
            rid = row["id_registro"]
            first, more = split_given(row["primer_nombre"])
            middle = " ".join(x for x in (more, fold(row.get("segundo_nombre"))) if x)
            s1, s2 = fold(row["primer_apellido"]), fold(row.get("segundo_apellido"))
            dob, year = parse_date(row["fecha_nacimiento"], "ymd")
            sex = sexes.get(fold(row["sexo"]))
            nat = nationality(row.get("nacionalidad", ""))
            phone = phone_digits(row.get("telefono", ""), source)
            ids = {"dpi": digits_only(row.get("dpi", ""))}
        given = " ".join(x for x in (first, middle) if x)
        rows.append(
            {
                "unique_id": rid,
                "source_dataset": source,
                "given_names": none_if_empty(given),
                "first_name": none_if_empty(first),
                "middle_names": none_if_empty(middle),
                "surname1": none_if_empty(s1),
                "surname2": none_if_empty(s2),
                "dob": dob,
                "birth_year": year,
                "sex": sex,
                "nationality": nat,
                "phone": phone,
                "a_number": ids.get("a_number"),
                "curp": ids.get("curp"),
                "dpi": ids.get("dpi"),
            }
        )
    if not rows:
        fail(f"{path} holds no rows")
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["birth_year"] = df["birth_year"].astype("Int64")
    if df["unique_id"].duplicated().any():
        fail(f"{path}: record ids are not unique")
    return df


def read_scenario(scenario: Path) -> dict[str, pd.DataFrame]:
    return {source: read_source(scenario, source) for source in LAYOUTS}


# ---------------------------------------------------------------- truth and evaluation


def read_truth(path: Path) -> dict[tuple[str, str], str]:
    """(source, record_id) -> person_id from a `source,record_id,person_id` CSV."""
    if not path.exists():
        fail(f"truth file {path} is missing")
    truth: dict[tuple[str, str], str] = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"source", "record_id", "person_id"} <= set(
            reader.fieldnames
        ):
            fail(f"{path}: expected columns source,record_id,person_id, found {reader.fieldnames}")
        for row in reader:
            truth[(row["source"], row["record_id"])] = row["person_id"]
    if not truth:
        fail(f"{path} is empty")
    return truth


def check_truth_covers(truth: dict, keys) -> None:
    missing = [k for k in keys if k not in truth]
    if missing:
        fail(f"{len(missing)} records have no truth entry, e.g. {missing[:3]}")


def true_pair_count(truth: dict, keys) -> int:
    per_person = Counter(truth[k] for k in keys)
    return sum(n * (n - 1) // 2 for n in per_person.values())


def metrics(tp: int, predicted: int, true: int) -> dict:
    p = tp / predicted if predicted else 0.0
    r = tp / true if true else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f1, 4),
        "true_positives": tp,
        "predicted_pairs": predicted,
        "true_pairs": true,
    }


def cluster_metrics(cluster_of: dict, truth: dict) -> dict:
    """P/R/F1 of the record pairs implied by a clustering (every pair inside a cluster)."""
    members: dict = defaultdict(list)
    for key, cluster in cluster_of.items():
        members[cluster].append(key)
    tp = predicted = 0
    for keys in members.values():
        n = len(keys)
        predicted += n * (n - 1) // 2
        for c in Counter(truth[k] for k in keys).values():
            tp += c * (c - 1) // 2
    return metrics(tp, predicted, true_pair_count(truth, cluster_of.keys()))


def sweep_connected_components(keys, edges, truth: dict, thresholds) -> list[dict]:
    """Cluster-implied pairwise metrics of connected components at each threshold, in one
    pass: edges (key_l, key_r, probability) are added strongest first and every merge of two
    components adds |A|·|B| predicted pairs and Σ_person a_p·b_p true ones. The same clusters
    as Splink's cluster_pairwise_predictions_at_threshold (edges with p >= threshold)."""
    keys = list(keys)
    true = true_pair_count(truth, keys)
    parent = {k: k for k in keys}
    people = {k: Counter([truth[k]]) for k in keys}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    order = sorted(edges, key=lambda e: -e[2])
    out = []
    tp = predicted = 0
    i = 0
    for t in sorted(thresholds, reverse=True):
        while i < len(order) and order[i][2] >= t:
            a, b = find(order[i][0]), find(order[i][1])
            i += 1
            if a == b:
                continue
            ca, cb = people[a], people[b]
            if sum(ca.values()) < sum(cb.values()):
                a, b, ca, cb = b, a, cb, ca
            predicted += sum(ca.values()) * sum(cb.values())
            tp += sum(n * ca.get(p, 0) for p, n in cb.items())
            ca.update(cb)
            del people[b]
            parent[b] = a
        out.append({"threshold": t, **metrics(tp, predicted, true)})
    return sorted(out, key=lambda m: m["threshold"])


def best(sweep: list[dict]) -> dict:
    return max(sweep, key=lambda m: (m["f1"], -m["threshold"]))


# ---------------------------------------------------------------- timing and output


class Timer:
    def __init__(self):
        self.t0 = time.perf_counter()
        self.steps: dict[str, float] = {}
        self._last = self.t0

    def step(self, name: str) -> float:
        now = time.perf_counter()
        self.steps[name] = round(now - self._last, 3)
        self._last = now
        return self.steps[name]

    def total(self) -> float:
        return round(time.perf_counter() - self.t0, 3)


def peak_rss_mb() -> float:
    """Peak resident set of this process (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def machine() -> dict:
    info = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


def versions(*names: str) -> dict:
    from importlib.metadata import version

    return {n: version(n) for n in names}


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
