"""The seed notebook's recipe written independently in PyTorch, to check Labbook's trainer
against: the notebook's split (sklearn's train_test_split), normalisation, Keras 2's
augmentation semantics (in the normalised units the notebook fed ImageDataGenerator), model,
optimiser, val_loss with the L2 penalty, and callbacks (best weights restored only when early
stopping ends the run), but none of Labbook's code, RNG or kernels. Prints one JSON line per epoch, with the
same keys as `labbook train`, then a summary with the test accuracy.

    apt-get install python3-torch        # Debian's CPU build
    /usr/bin/python3 scripts/reference/seed_recipe.py --epochs 3 --normalization zscore

Compare with `npx tsx scripts/compare-reference.ts`, which runs both.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split
from torch import nn

SIZE = 32


def load_batches(data_dir, names):
    records = [np.fromfile(os.path.join(data_dir, name), dtype=np.uint8).reshape(-1, 3073) for name in names]
    rows = np.concatenate(records)
    # Official format: a label byte, then the R, G and B planes: already NCHW.
    return rows[:, 1:].reshape(-1, 3, SIZE, SIZE), rows[:, 0].astype(np.int64)


def vgg(dropout, l2_layers):
    layers, channels = [], 3
    for block, width in enumerate([32, 64, 128, 256]):
        for _ in range(2):
            conv = nn.Conv2d(channels, width, 3, padding=1)
            nn.init.xavier_uniform_(conv.weight)  # Keras' glorot_uniform
            nn.init.zeros_(conv.bias)
            l2_layers.append(conv)
            # Keras' BatchNormalization: momentum 0.99, epsilon 1e-3.
            layers += [conv, nn.ReLU(), nn.BatchNorm2d(width, eps=1e-3, momentum=0.01)]
            channels = width
        layers += [nn.MaxPool2d(2), nn.Dropout(dropout[block])]
    dense = nn.Linear(256 * 2 * 2, 10)
    nn.init.xavier_uniform_(dense.weight)
    nn.init.zeros_(dense.bias)
    return nn.Sequential(*layers, nn.Flatten(), dense)


def augment(x, generator, args):
    """ImageDataGenerator's random affine (rotation, shift, shear, zoom, then the flip), channel
    shift and brightness, on normalised images as the notebook fed them; 'nearest' fill is
    grid_sample's border padding."""
    n = x.shape[0]

    def uniform(low, high):
        return torch.rand(n, generator=generator) * (high - low) + low

    theta = torch.deg2rad(uniform(-args.rotation, args.rotation))
    shear = torch.deg2rad(uniform(-args.shear, args.shear))
    tx, ty = uniform(-args.shift, args.shift) * SIZE, uniform(-args.shift, args.shift) * SIZE
    zx, zy = uniform(1 - args.zoom, 1 + args.zoom), uniform(1 - args.zoom, 1 + args.zoom)
    flip = torch.rand(n, generator=generator) < 0.5

    def mat(a, b, c, d, e, f):
        out = torch.zeros(n, 3, 3)
        out[:, 0, 0], out[:, 0, 1], out[:, 0, 2] = a, b, c
        out[:, 1, 0], out[:, 1, 1], out[:, 1, 2] = d, e, f
        out[:, 2, 2] = 1
        return out

    zero, one, centre = torch.zeros(n), torch.ones(n), (SIZE - 1) / 2
    # Output pixel -> input pixel, about the image centre, as Keras composes it.
    m = mat(one, zero, one * centre, zero, one, one * centre)
    m = m @ mat(torch.cos(theta), -torch.sin(theta), zero, torch.sin(theta), torch.cos(theta), zero)
    m = m @ mat(one, zero, tx, zero, one, ty)
    m = m @ mat(one, -torch.sin(shear), zero, zero, torch.cos(shear), zero)
    m = m @ mat(zx, zero, zero, zero, zy, zero)
    m = m @ mat(one, zero, -one * centre, zero, one, -one * centre)
    m = m @ mat(torch.where(flip, -one, one), zero, torch.where(flip, one * (SIZE - 1), zero), zero, one, zero)
    # Pixel coordinates -> grid_sample's [-1, 1] (align_corners: -1 and 1 are pixel centres).
    to_unit = mat(one * 2 / (SIZE - 1), zero, -one, zero, one * 2 / (SIZE - 1), -one)
    grid = F.affine_grid((to_unit @ m @ torch.linalg.inv(to_unit))[:, :2], list(x.shape), align_corners=True)
    warped = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)
    # Channel shift: one intensity per image, clipped to the image's own range.
    shift = uniform(-args.channel_shift, args.channel_shift).view(n, 1, 1, 1)
    low = warped.amin(dim=(1, 2, 3), keepdim=True)
    high = warped.amax(dim=(1, 2, 3), keepdim=True)
    shifted = torch.maximum(torch.minimum(warped + shift, high), low)
    # Brightness on data outside [0, 255]: to 8 bits over the image's range, PIL's multiply
    # (truncated, clipped at 255), back to the range.
    factor = uniform(args.brightness_low, args.brightness_high).view(n, 1, 1, 1)
    low = shifted.amin(dim=(1, 2, 3), keepdim=True)
    span = shifted.amax(dim=(1, 2, 3), keepdim=True) - low
    levels = torch.floor((shifted - low) / torch.where(span > 0, span, torch.ones_like(span)) * 255)
    brightened = torch.clamp(torch.floor(levels * factor), max=255)
    return brightened / 255 * span + low


def evaluate(model, x, y, normalise):
    """Mean cross-entropy and accuracy (Keras' val_loss adds the L2 penalty to this)."""
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), 500):
            logits = model(normalise(x[start : start + 500]))
            loss += F.cross_entropy(logits, y[start : start + 500], reduction="sum").item()
            correct += (logits.argmax(1) == y[start : start + 500]).sum().item()
    return loss / len(x), correct / len(x)


def l2_penalty(l2, layers):
    with torch.no_grad():
        return l2 * sum((layer.weight**2).sum().item() for layer in layers)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default=os.environ.get("LABBOOK_DATA_DIR", os.path.expanduser("~/.cache/labbook/cifar-10-batches-bin")))
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--normalization", choices=["sfs", "zscore"], default="zscore")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--l2", type=float, default=1e-4)
    p.add_argument("--validation-split", type=float, default=0.1)
    p.add_argument("--split-seed", type=int, default=70)
    p.add_argument("--train-limit", type=int, default=0, help="train on the first N images only")
    p.add_argument("--seed", type=int, default=70)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-augmentation", action="store_true")
    p.add_argument("--rotation", type=float, default=15)
    p.add_argument("--shift", type=float, default=0.12)
    p.add_argument("--shear", type=float, default=10)
    p.add_argument("--zoom", type=float, default=0.1)
    p.add_argument("--brightness-low", type=float, default=0.9)
    p.add_argument("--brightness-high", type=float, default=1.1)
    p.add_argument("--channel-shift", type=float, default=0.1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    images, labels = load_batches(args.data_dir, [f"data_batch_{i}.bin" for i in range(1, 6)])
    test_x, test_y = load_batches(args.data_dir, ["test_batch.bin"])
    # The notebook's train_test_split(X, y, test_size=0.1, random_state=70).
    train_idx, val_idx = train_test_split(np.arange(len(images)), test_size=args.validation_split, random_state=args.split_seed)
    if args.train_limit:
        train_idx = train_idx[: args.train_limit]
    to_unit = lambda a: torch.from_numpy(a.astype(np.float32) / 255)
    train_x, train_y = to_unit(images[train_idx]), torch.from_numpy(labels[train_idx])
    val_x, val_y = to_unit(images[val_idx]), torch.from_numpy(labels[val_idx])
    test_x, test_y = to_unit(test_x), torch.from_numpy(test_y)
    if args.normalization == "zscore":
        # Statistics of the training split only (the notebook's were fitted on it too).
        mean, std = train_x.mean().item() * 255, train_x.std(unbiased=False).item() * 255
        normalise = lambda x: (x * 255 - mean) / (std + 1e-7)
    else:
        normalise = lambda x: x

    l2_layers = []
    model = vgg([0.2, 0.3, 0.4, 0.5], l2_layers)
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-7)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimiser, factor=0.5, patience=10, min_lr=1e-5, threshold=1e-4, threshold_mode="abs")
    best_val, best_state, wait, best_epoch, model_epoch = math.inf, None, 0, 0, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        started = time.time()
        permutation = torch.randperm(len(train_x), generator=generator)
        loss_sum, correct = 0.0, 0
        for start in range(0, len(train_x), args.batch_size):
            idx = permutation[start : start + args.batch_size]
            x = normalise(train_x[idx])
            logits = model(x if args.no_augmentation else augment(x, generator, args))
            # Keras adds l2 * sum(w^2) of each regularised kernel to the loss it reports.
            loss = F.cross_entropy(logits, train_y[idx]) + args.l2 * sum((layer.weight**2).sum() for layer in l2_layers)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == train_y[idx]).sum().item()
        seconds = time.time() - started
        val_crossentropy, val_accuracy = evaluate(model, val_x, val_y, normalise)
        val_loss = val_crossentropy + l2_penalty(args.l2, l2_layers)
        lr = optimiser.param_groups[0]["lr"]
        plateau.step(val_loss)
        print(json.dumps({
            "epoch": epoch, "loss": round(loss_sum / len(train_x), 4), "accuracy": round(correct / len(train_x), 4),
            "valLoss": round(val_loss, 4), "valCrossEntropy": round(val_crossentropy, 4),
            "valAccuracy": round(val_accuracy, 4), "lr": lr,
            "seconds": round(seconds, 1), "imagesPerSecond": round(len(train_x) / seconds, 1),
        }), flush=True)
        # EarlyStopping(patience 40, restore_best_weights): Keras 2 restores only when it stops.
        if val_loss < best_val:
            best_val, wait, best_epoch = val_loss, 0, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            wait += 1
            if wait >= 40:
                model.load_state_dict(best_state)
                model_epoch = best_epoch
                break
        model_epoch = epoch
    test_loss, test_accuracy = evaluate(model, test_x, test_y, normalise)
    print(json.dumps({"summary": True, "modelEpoch": model_epoch, "testLoss": round(test_loss, 4), "testAccuracy": round(test_accuracy, 4), "torch": torch.__version__, "threads": args.threads}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
