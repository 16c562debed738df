"""The official MLflow client against a tracking server: the calls a training script makes.

    MLFLOW_TRACKING_URI=http://127.0.0.1:3000 python3 scripts/mlflow/client_check.py [--json OUT]

Prints one line per check and a normalised JSON of the answers (ids and times removed), so the
same script run against MLflow's own server and against Labbook can be compared with diff.
"""
import json, math, os, sys, tempfile, threading, time, uuid

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

client = MlflowClient()
results = {}
failures = []


def check(name, fn):
    started = time.time()
    try:
        results[name] = fn()
        print(f"ok   {name} ({(time.time() - started) * 1000:.0f} ms)")
    except Exception as e:  # noqa: BLE001
        failures.append(name)
        results[name] = f"FAILED: {type(e).__name__}: {e}"
        print(f"FAIL {name}: {type(e).__name__}: {e}")


def error_code(fn):
    try:
        fn()
    except MlflowException as e:
        return e.error_code
    return None


suffix = uuid.uuid4().hex[:8]
name = f"client-check-{suffix}"
state = {}


def experiment_by_name():
    state["exp"] = mlflow.set_experiment(name)
    again = client.get_experiment_by_name(name)
    return {"same_id": again.experiment_id == state["exp"].experiment_id, "name": again.name,
            "stage": again.lifecycle_stage, "missing": client.get_experiment_by_name(f"nope-{suffix}") is None}


def run_with_params():
    with mlflow.start_run(run_name="sfs-baseline") as run:
        mlflow.log_params({"normalization": "sfs", "learning_rate": 0.0005, "batch_size": 64})
        mlflow.set_tags({"team": "vision", "stage": "dev"})
        for epoch in range(5):
            mlflow.log_metrics({"val_accuracy": 0.5 + epoch * 0.1, "loss": 2.0 - epoch * 0.3}, step=epoch)
        state["run"] = run.info.run_id
    r = client.get_run(state["run"])
    hist = client.get_metric_history(state["run"], "val_accuracy")
    return {"status": r.info.status, "name": r.info.run_name, "params": r.data.params,
            "metrics": {k: round(v, 6) for k, v in r.data.metrics.items()},
            "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")},
            "history": [(m.step, round(m.value, 6)) for m in hist],
            "id_is_32_hex": len(state["run"]) == 32 and all(c in "0123456789abcdef" for c in state["run"]),
            "artifact_uri_scheme": r.info.artifact_uri.split(":")[0]}


def batch_of_1000():
    run = client.create_run(state["exp"].experiment_id, run_name="batch")
    state["batch_run"] = run.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(run.info.run_id, metrics=[Metric("batch/loss", 1 / (i + 1), now, i) for i in range(1000)])
    hist = client.get_metric_history(run.info.run_id, "batch/loss")
    client.set_terminated(run.info.run_id)
    return {"points": len(hist), "last": client.get_run(run.info.run_id).data.metrics["batch/loss"]}


def nan_and_infinity():
    run_id = state["batch_run"]
    client.log_metric(run_id, "weird", float("nan"), step=0)
    client.log_metric(run_id, "weird", float("inf"), step=1)
    client.log_metric(run_id, "neg", float("-inf"), step=0)
    m = client.get_run(run_id).data.metrics
    hist = client.get_metric_history(run_id, "weird")
    return {"weird": str(m["weird"]), "neg": str(m["neg"]), "history": [str(h.value) for h in hist],
            "nan_first": math.isnan(hist[0].value)}


def param_change():
    run_id = state["run"]
    same = error_code(lambda: client.log_param(run_id, "normalization", "sfs"))
    changed = error_code(lambda: client.log_param(run_id, "normalization", "zscore"))
    return {"same_value": same, "new_value": changed}


def artifacts():
    run_id = state["run"]
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "plots", "deep"))
        with open(os.path.join(d, "plots", "deep", "curve.txt"), "w") as f:
            f.write("epoch,acc\n1,0.5\n")
        with open(os.path.join(d, "notes.md"), "w") as f:
            f.write("# notes\n")
        client.log_artifacts(run_id, d, artifact_path="outputs")
    client.log_dict(run_id, {"confusion": [[1, 0], [0, 1]]}, "evaluation.json")
    client.log_text(run_id, "hello", "texts/hello.txt")
    top = sorted((f.path, f.is_dir) for f in client.list_artifacts(run_id))
    nested = sorted((f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id, "outputs/plots/deep"))
    with tempfile.TemporaryDirectory() as d:
        local = client.download_artifacts(run_id, "outputs", d)
        with open(os.path.join(local, "plots", "deep", "curve.txt")) as f:
            content = f.read()
    loaded = mlflow.artifacts.load_dict(f"runs:/{run_id}/evaluation.json")
    return {"top": top, "nested": nested, "content": content, "dict": loaded}


def failed_run():
    run = client.create_run(state["exp"].experiment_id, run_name="crashes")
    client.log_metric(run.info.run_id, "loss", 3.0)
    client.set_terminated(run.info.run_id, status="FAILED")
    state["failed"] = run.info.run_id
    r = client.get_run(run.info.run_id)
    return {"status": r.info.status, "has_end": r.info.end_time is not None}


def search():
    exp = state["exp"].experiment_id
    for i, (norm, acc) in enumerate([("zscore", 0.81), ("zscore", 0.86), ("sfs", 0.84), ("zscore", 0.86)]):
        with mlflow.start_run(run_name=f"search-{i}"):
            mlflow.log_param("norm", norm)
            mlflow.log_metric("test_acc", acc)
    found = mlflow.search_runs([exp], filter_string="params.norm = 'zscore' and metrics.test_acc > 0.8",
                               order_by=["metrics.test_acc DESC", "attributes.run_name ASC"], output_format="list")
    page1 = client.search_runs([exp], "params.norm != ''", order_by=["attributes.run_name"], max_results=2)
    page2 = client.search_runs([exp], "params.norm != ''", order_by=["attributes.run_name"], max_results=2,
                               page_token=page1.token)
    like = client.search_runs([exp], "attributes.run_name LIKE 'search-%'")
    failed = client.search_runs([exp], "attributes.status = 'FAILED'")
    ids = client.search_runs([exp], f"attributes.run_id IN ('{state['run']}', '{state['failed']}')")
    missing = client.search_runs([exp], "metrics.nonexistent > 0")
    bad = error_code(lambda: client.search_runs([exp], "metrics.test_acc > 'x'"))
    return {"filtered": [r.info.run_name for r in found], "page1": [r.info.run_name for r in page1],
            "page2": [r.info.run_name for r in page2], "has_token": page1.token is not None,
            "like": sorted(r.info.run_name for r in like), "failed": [r.info.run_name for r in failed],
            "ids": sorted(r.info.run_name for r in ids), "missing": len(missing), "bad_filter": bad}


def unknown_run():
    started = time.time()
    code = error_code(lambda: client.get_run("0" * 32))
    return {"code": code, "fast": time.time() - started < 2}


def delete_restore():
    run_id = state["failed"]
    client.delete_run(run_id)
    deleted = client.get_run(run_id).info.lifecycle_stage
    hidden = run_id not in [r.info.run_id for r in client.search_runs([state["exp"].experiment_id])]
    client.restore_run(run_id)
    return {"deleted": deleted, "hidden": hidden, "restored": client.get_run(run_id).info.lifecycle_stage}


def four_threads():
    run = client.create_run(state["exp"].experiment_id, run_name="threads")
    errors = []

    def log(t):
        try:
            for step in range(50):
                client.log_metric(run.info.run_id, f"thread{t}", step * 1.0, step=step)
        except Exception as e:  # noqa: BLE001
            errors.append(str(e))

    threads = [threading.Thread(target=log, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.set_terminated(run.info.run_id)
    m = client.get_run(run.info.run_id).data.metrics
    return {"errors": errors, "last": {k: m[k] for k in sorted(m)},
            "points": [len(client.get_metric_history(run.info.run_id, f"thread{t}")) for t in range(4)]}


for check_name, fn in [("experiment by name", experiment_by_name), ("run with params, tags, metrics", run_with_params),
                       ("batch of 1,000 metrics", batch_of_1000), ("NaN and infinity", nan_and_infinity),
                       ("param change", param_change), ("artifacts", artifacts), ("failed run", failed_run),
                       ("search", search), ("unknown run", unknown_run), ("delete and restore", delete_restore),
                       ("four threads", four_threads)]:
    check(check_name, fn)

print(f"{len(results) - len(failures)} passed, {len(failures)} failed")
if "--json" in sys.argv:
    with open(sys.argv[sys.argv.index("--json") + 1], "w") as f:
        json.dump(results, f, indent=1, sort_keys=True, default=str)
sys.exit(1 if failures else 0)
