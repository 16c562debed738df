"""Records what MLflow's own server answers for a table of search_runs filters and orderings.

    ../shared/mlflow/setup.sh ... OUT          (builds the official client and server)
    OUT/env.sh python3 OUT/server.py 5055 /tmp/mlflow-store &
    MLFLOW_TRACKING_URI=http://127.0.0.1:5055 OUT/env.sh python3 scripts/mlflow/filter_cases.py \
        test/fixtures/mlflow-filter-cases.json

It logs the runs in SEED to a fresh experiment, runs each case, and writes the seed and, per
case, the run names in the order MLflow returned them (or its error code). The Labbook test
(test/integration/mlflow-search.test.ts) logs the same runs to Labbook and expects the same.
"""
import json, sys, time, uuid

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

# start_time is seconds after the experiment's base time; metrics are [step, value] lists.
SEED = [
    {"name": "sfs-1", "start": 1, "status": "FINISHED", "params": {"norm": "sfs", "lr": "0.001", "bs": "64"},
     "metrics": {"acc": [[0, 0.5], [1, 0.8]], "loss": [[0, 1.2], [1, 0.6]]}, "tags": {"team": "vision", "stage": "prod"}},
    {"name": "sfs-2", "start": 2, "status": "FINISHED", "params": {"norm": "sfs", "lr": "0.0005", "bs": "128"},
     "metrics": {"acc": [[0, 0.6], [1, 0.85]], "loss": [[0, 1.0], [1, 0.5]]}, "tags": {"team": "vision"}},
    {"name": "zscore-1", "start": 3, "status": "FAILED", "params": {"norm": "zscore", "lr": "0.001", "bs": "64"},
     "metrics": {"acc": [[0, 0.7]], "loss": [[0, "NaN"]]}, "tags": {"team": "Vision", "stage": "dev"}},
    {"name": "zscore-2", "start": 4, "status": "RUNNING", "params": {"norm": "zscore", "lr": "1e-3"},
     "metrics": {"acc": [[0, 0.85]], "loss": [[0, 0.4]]}, "tags": {"stage": "dev"}},
    {"name": "Zscore_3", "start": 5, "status": "KILLED", "params": {"norm": "z_score", "lr": "0.002", "bs": "32"},
     "metrics": {"acc": [[0, 0.85]], "loss": [[0, "Infinity"]]}, "tags": {}},
    {"name": "no-params", "start": 6, "status": "FINISHED", "params": {}, "metrics": {"acc": [[3, -1.5]]},
     "tags": {"team": "audio"}},
    {"name": "empty", "start": 7, "status": "SCHEDULED", "params": {"note": ""}, "metrics": {}, "tags": {}},
    {"name": "pct%name", "start": 8, "status": "FINISHED", "params": {"norm": "sfs%", "lr": "1"},
     "metrics": {"acc": [[0, 0.1]], "val loss": [[0, 0.3]]}, "tags": {"odd key.x": "a_b"}},
]

CASES = [
    # (filter, order_by)
    ("", []),
    ("metrics.acc > 0.8", []),
    ("metrics.acc >= 0.85", ["attributes.run_name ASC"]),
    ("metrics.acc = 0.85", ["metrics.acc DESC", "attributes.run_name"]),
    ("metrics.acc != 0.85", ["attributes.run_name"]),
    ("metrics.acc < 0", []),
    ("metrics.acc <= 0.6 AND metrics.acc > 0", ["attributes.run_name"]),
    ("metrics.loss > 0.45", ["attributes.run_name"]),
    ("metrics.loss < 100", ["attributes.run_name"]),
    ("metrics.missing > 0", []),
    ("metrics.`val loss` < 1", []),
    ("params.norm = 'sfs'", ["attributes.run_name"]),
    ("params.norm != 'sfs'", ["attributes.run_name"]),
    ("params.lr = '0.001'", ["attributes.run_name"]),
    ("params.lr = '1e-3'", []),
    ("params.norm LIKE 'z%'", ["attributes.run_name"]),
    ("params.norm LIKE 'z_score'", ["attributes.run_name"]),
    ("params.norm LIKE '%\\%'", []),
    ("params.norm ILIKE 'Z%'", ["attributes.run_name"]),
    ("params.norm LIKE 'Z%'", []),
    ("params.note = ''", []),
    ("params.bs = '64' AND params.norm = 'sfs'", []),
    ("params.bs > '100'", []),
    ("params.lr = 0.001", []),
    ("tags.team = 'vision'", ["attributes.run_name"]),
    ("tags.team ILIKE 'vision'", ["attributes.run_name"]),
    ("tags.team != 'vision'", ["attributes.run_name"]),
    ("tags.`odd key.x` = 'a_b'", []),
    ("tags.stage LIKE 'd%' AND metrics.acc > 0.5", ["attributes.run_name"]),
    ("attributes.status = 'FINISHED'", ["attributes.run_name"]),
    ("attributes.status != 'FINISHED'", ["attributes.run_name"]),
    ("attributes.status IN ('FAILED', 'KILLED')", ["attributes.run_name"]),
    ("attributes.status NOT IN ('FINISHED')", ["attributes.run_name"]),
    ("attributes.status LIKE 'F%'", ["attributes.run_name"]),
    ("attributes.run_name = 'sfs-1'", []),
    ("attributes.run_name LIKE 'sfs-%'", ["attributes.run_name DESC"]),
    ("attributes.run_name ILIKE 'z%'", ["attributes.run_name"]),
    ("attributes.run_name LIKE '%\\%%'", []),
    ("run_name = 'empty'", []),
    ("attributes.`run_name` = 'empty'", []),
    ("attributes.run_name IN ('sfs-1', 'empty', 'nope')", ["attributes.run_name"]),
    ("attributes.start_time > 0", ["attributes.start_time ASC"]),
    ("attributes.end_time > 0", ["attributes.run_name"]),
    ("metrics.acc > 0.5", ["metrics.acc ASC", "attributes.run_name"]),
    ("", ["metrics.loss ASC", "attributes.run_name"]),
    ("", ["metrics.loss DESC", "attributes.run_name"]),
    ("", ["params.lr DESC", "attributes.run_name"]),
    ("", ["params.bs", "attributes.run_name"]),
    ("", ["tags.team DESC", "attributes.run_name"]),
    ("", ["attributes.status", "attributes.run_name"]),
    ("", ["attributes.start_time DESC"]),
    ("", ["attributes.run_name"]),
    # errors
    ("metrics.acc > 'x'", []),
    ("params.norm > 1", []),
    ("params.norm = sfs", []),
    ("foo.bar = '1'", []),
    ("attributes.nope = '1'", []),
    ("metrics.acc LIKE '1'", []),
    ("metrics.acc > 0.5 OR metrics.acc < 0.1", []),
    ("metrics.acc", []),
    ("", ["metrics.acc SIDEWAYS"]),
    ("", ["metrics.acc", "metrics.acc DESC"]),
]


def main(out):
    client = MlflowClient()
    experiment = client.create_experiment(f"filter-cases-{uuid.uuid4().hex[:8]}")
    base = int(time.time() * 1000) - 100_000
    for run in SEED:
        created = client.create_run(experiment, start_time=base + run["start"] * 1000, run_name=run["name"])
        run_id = created.info.run_id
        metrics = [Metric(k, float(v), base, step) for k, points in run["metrics"].items() for step, v in points]
        client.log_batch(run_id, metrics=metrics, params=[Param(k, v) for k, v in run["params"].items()],
                         tags=[RunTag(k, v) for k, v in run["tags"].items()])
        if run["status"] in ("FINISHED", "FAILED", "KILLED"):
            client.set_terminated(run_id, status=run["status"], end_time=base + run["start"] * 1000 + 500)
        elif run["status"] != "RUNNING":
            client.update_run(run_id, status=run["status"])
    cases = []
    for filter_string, order_by in CASES:
        try:
            runs = client.search_runs([experiment], filter_string, order_by=order_by, max_results=1000)
            expected = {"names": [r.info.run_name for r in runs]}
        except MlflowException as e:
            expected = {"error": e.error_code}
        cases.append({"filter": filter_string, "order_by": order_by, **expected})
        print(filter_string, order_by, expected)
    with open(out, "w") as f:
        json.dump({"generated_by": "scripts/mlflow/filter_cases.py against MLflow 2.17's server",
                   "seed": SEED, "cases": cases}, f, indent=1)
        f.write("\n")


main(sys.argv[1])
