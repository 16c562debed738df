"""Timings through the official MLflow client, for scripts/bench-mlflow.ts (one JSON line out).

    MLFLOW_TRACKING_URI=... python3 bench_client.py log_metric 500
    MLFLOW_TRACKING_URI=... python3 bench_client.py log_batch 40        (batches of 1,000 metrics)
    MLFLOW_TRACKING_URI=... python3 bench_client.py seed 51             (runs for the search)
    MLFLOW_TRACKING_URI=... python3 bench_client.py search EXPERIMENT_ID 50 "FILTER"
"""
import json, sys, time, uuid

from mlflow import MlflowClient
from mlflow.entities import Metric, Param

client = MlflowClient()
mode = sys.argv[1]


def new_run():
    experiment = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")
    return experiment, client.create_run(experiment).info.run_id


if mode in ("log_metric", "log_metric_no_step"):
    # Without a step, MLflow's client logs step 0 each time: the same (key, step) again and again.
    n, stepped = int(sys.argv[2]), mode == "log_metric"
    _, run_id = new_run()
    for i in range(30):  # warm-up: connections, the server's first requests
        client.log_metric(run_id, "warm", i, step=i if stepped else None)
    times = []
    for i in range(n):
        started = time.perf_counter()
        client.log_metric(run_id, "loss", 1.0 / (i + 1), step=i if stepped else None)
        times.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"ms": times}))
elif mode == "log_batch":
    batches = int(sys.argv[2])
    _, run_id = new_run()
    now = int(time.time() * 1000)

    def batch(b):
        # 100 keys × 10 steps a batch, as a trainer logging many metrics at once sends them.
        return [Metric(f"metric_{i % 100}", float(i), now, b * 10 + i // 100) for i in range(1000)]

    for b in range(3):
        client.log_batch(run_id, metrics=batch(10_000 + b))
    started = time.perf_counter()
    for b in range(batches):
        client.log_batch(run_id, metrics=batch(b))
    seconds = time.perf_counter() - started
    print(json.dumps({"points": batches * 1000, "seconds": seconds}))
elif mode == "seed":
    n = int(sys.argv[2])
    experiment = client.create_experiment(f"search-{uuid.uuid4().hex[:8]}")
    for i in range(n):
        run_id = client.create_run(experiment).info.run_id
        client.log_batch(run_id, metrics=[Metric("val_accuracy", (i * 37 % 100) / 100, 0, 0)],
                         params=[Param("optimizer", "adam" if i % 2 else "sgd"), Param("lr", str(i % 10))])
    print(json.dumps({"experiment_id": experiment}))
elif mode == "search":
    experiment, n, filter_string = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    for _ in range(5):
        client.search_runs([experiment], filter_string)
    times, found = [], 0
    for _ in range(n):
        started = time.perf_counter()
        found = len(client.search_runs([experiment], filter_string))
        times.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"ms": times, "found": found}))
