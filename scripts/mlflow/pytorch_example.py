"""A user's own PyTorch training on the real CIFAR-10, logged to Labbook through MLflow's client:
what the README's "Log from your own code" shows, run end to end.

    bin/labbook data fetch                                   # CIFAR-10, as the workers use it
    MLFLOW_TRACKING_URI=http://127.0.0.1:3000 OUT/env.sh /usr/bin/python3 scripts/mlflow/pytorch_example.py \
        [--epochs 3] [--train 10000] [--normalization zscore]

Per epoch: loss, accuracy, val_loss, val_accuracy and the learning rate, as Keras names them (so
the run overlays Labbook's runs in compare); then evaluation.json (the test confusion matrix in
the form Labbook shows) and the model, with mlflow.pytorch.log_model.
"""
import argparse, os

import mlflow
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
parser = argparse.ArgumentParser()
parser.add_argument("--data-dir", default=os.path.expanduser("~/.cache/labbook/cifar-10-batches-bin"))
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--train", type=int, default=10_000)
parser.add_argument("--normalization", choices=["sfs", "zscore"], default="zscore")
parser.add_argument("--experiment", default="pytorch-from-my-notebook")
args = parser.parse_args()


def load(names):
    rows = np.concatenate([np.fromfile(os.path.join(args.data_dir, n), dtype=np.uint8).reshape(-1, 3073) for n in names])
    return torch.tensor(rows[:, 1:].reshape(-1, 3, 32, 32), dtype=torch.float32) / 255, torch.tensor(rows[:, 0], dtype=torch.long)


x, y = load([f"data_batch_{i}.bin" for i in range(1, 6)])
x_test, y_test = load(["test_batch.bin"])
x_train, y_train, x_val, y_val = x[: args.train], y[: args.train], x[45_000:], y[45_000:]
if args.normalization == "zscore":
    mean, std = x_train.mean(dim=(0, 2, 3), keepdim=True), x_train.std(dim=(0, 2, 3), keepdim=True)
    x_train, x_val, x_test = [(t - mean) / std for t in (x_train, x_val, x_test)]

torch.manual_seed(1)
model = nn.Sequential(
    nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(32), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(64), nn.MaxPool2d(2),
    nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(128), nn.MaxPool2d(2),
    nn.Flatten(), nn.Dropout(0.3), nn.Linear(128 * 16, 10),
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)


def evaluate(xs, ys):
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(xs[i : i + 500]) for i in range(0, len(xs), 500)])
    model.train()
    return F.cross_entropy(logits, ys).item(), (logits.argmax(1) == ys).float().mean().item(), logits.argmax(1)


mlflow.set_experiment(args.experiment)
with mlflow.start_run(run_name=f"small-cnn-{args.normalization}"):
    mlflow.log_params({"normalization": args.normalization, "learning_rate": 1e-3, "batch_size": 64,
                       "epochs": args.epochs, "train_images": args.train, "optimizer": "adam"})
    mlflow.set_tag("framework", f"pytorch {torch.__version__}")
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(x_train))
        losses, correct = [], 0
        for i in range(0, len(order), 64):
            batch = order[i : i + 64]
            logits = model(x_train[batch])
            loss = F.cross_entropy(logits, y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            correct += (logits.argmax(1) == y_train[batch]).sum().item()
        val_loss, val_acc, _ = evaluate(x_val, y_val)
        mlflow.log_metrics({"loss": float(np.mean(losses)), "accuracy": correct / len(order),
                            "val_loss": val_loss, "val_accuracy": val_acc, "lr": 1e-3}, step=epoch)
        print(f"epoch {epoch}: val_accuracy {val_acc:.4f}")
    test_loss, test_acc, predicted = evaluate(x_test, y_test)
    matrix = np.zeros((10, 10), dtype=int)
    np.add.at(matrix, (y_test.numpy(), predicted.numpy()), 1)
    mlflow.log_metric("test_accuracy", test_acc)
    mlflow.log_dict({"classes": CLASSES, "confusion_matrix": matrix.tolist(), "loss": test_loss}, "evaluation.json")
    mlflow.pytorch.log_model(model, "model")
    print(f"test accuracy {test_acc:.4f}")
