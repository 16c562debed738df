"""Training and inference images/s of the seed network in PyTorch, for bench-trainer's
side-by-side table: the same layers as seed_recipe.py, batch 64, Adam with the L2 term, in
PyTorch's fastest CPU configuration here (channels-last tensors, torch.set_num_threads).
Augmentation is left out (PyTorch users run it in DataLoader workers, off the critical path).
Prints one JSON line.

    /usr/bin/python3 scripts/reference/torch_throughput.py --threads 1 --batches 12
"""

import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from seed_recipe import vgg  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batches", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--warm-up", type=int, default=3, help="steps before the clock starts")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    l2_layers = []
    model = vgg([0.2, 0.3, 0.4, 0.5], l2_layers).to(memory_format=torch.channels_last)
    optimiser = torch.optim.Adam(model.parameters(), lr=5e-4, eps=1e-7)
    x = torch.randn(args.batch_size, 3, 32, 32).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (args.batch_size,))

    def step():
        loss = F.cross_entropy(model(x), y) + 1e-4 * sum((layer.weight**2).sum() for layer in l2_layers)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    model.train()
    for _ in range(args.warm_up):
        step()
    started = time.perf_counter()
    for _ in range(args.batches):
        step()
    train = args.batches * args.batch_size / (time.perf_counter() - started)

    model.eval()
    with torch.no_grad():
        for _ in range(args.warm_up):
            model(x)
        started = time.perf_counter()
        for _ in range(args.batches):
            model(x)
        infer = args.batches * args.batch_size / (time.perf_counter() - started)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"threads": args.threads, "trainImagesPerSecond": train, "inferImagesPerSecond": infer, "peakRssMb": peak_mb}))


if __name__ == "__main__":
    main()
