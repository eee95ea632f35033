#!/usr/bin/env python3
"""PyTorch side of the side-by-side whole-run benchmark (bench/side-by-side.sh).

Runs the cases of dev.panamann.bench.SideBySide with the same models, initialization scales,
hyperparameters and data handling, and prints one line per case:
RESULT <case> <images/s> <seconds> <last loss>.

Usage: side_by_side_torch.py --data DIR [--cases a,b] [--images N] [--warmup W] [--epochs E]
                             [--threads T] [--layout nchw|channels_last]
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn

CASES = ["convnet-adam-64", "convnet-adam-256", "convnet-sgdm-64", "convnet-sgdm-256",
         "convnet-infer-256", "twolayer-64", "twolayer-256", "fcbn-200"]


def load_cifar(folder, limit):
    """The first `limit` training images (N, 3, 32, 32) float32 minus their mean image, labels int64."""
    xs, ys, left = [], [], limit
    for i in range(1, 6):
        if left <= 0:
            break
        raw = np.fromfile(os.path.join(folder, "data_batch_%d.bin" % i), dtype=np.uint8).reshape(-1, 3073)[:left]
        ys.append(raw[:, 0].astype(np.int64))
        xs.append(raw[:, 1:].astype(np.float32).reshape(-1, 3, 32, 32))
        left -= len(raw)
    x = np.concatenate(xs)
    x -= x.mean(axis=0, dtype=np.float64).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(np.concatenate(ys))


def normal_(layer, std):
    with torch.no_grad():
        layer.weight.normal_(0.0, std)
        layer.bias.zero_()
    return layer


def model(case):
    if case.startswith("convnet"):
        s = 1e-3
        return nn.Sequential(normal_(nn.Conv2d(3, 32, 7, padding=3), s), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             normal_(nn.Linear(32 * 16 * 16, 100), s), nn.ReLU(), normal_(nn.Linear(100, 10), s)), 1e-3
    if case.startswith("twolayer"):
        s = 1e-4
        return nn.Sequential(nn.Flatten(), normal_(nn.Linear(3072, 300), s), nn.ReLU(), normal_(nn.Linear(300, 10), s)), 1e-2
    he = lambda fan_in: math.sqrt(2.0 / fan_in)
    return nn.Sequential(nn.Flatten(), normal_(nn.Linear(3072, 200), he(3072)), nn.BatchNorm1d(200, eps=1e-5), nn.ReLU(),
                         normal_(nn.Linear(200, 100), he(200)), nn.BatchNorm1d(100, eps=1e-5), nn.ReLU(),
                         normal_(nn.Linear(100, 10), he(100))), 1e-3


def optimizer(case, net, reg):
    # cs231n L2 (0.5 reg |W|^2 on the weights, not the biases) is weight decay `reg` on the weights
    weights = [p for n, p in net.named_parameters() if n.endswith("weight") and p.dim() > 1]
    others = [p for n, p in net.named_parameters() if not (n.endswith("weight") and p.dim() > 1)]
    groups = [{"params": weights, "weight_decay": reg}, {"params": others, "weight_decay": 0.0}]
    if case.startswith("convnet-sgdm"):
        return torch.optim.SGD(groups, lr=1e-2, momentum=0.9)
    if case.startswith("twolayer"):
        return torch.optim.SGD(groups, lr=1.6e-3)
    return torch.optim.Adam(groups, lr=1e-3)


def run_case(case, x, y, warmup, epochs, channels_last):
    torch.manual_seed(1)
    batch = int(case.rsplit("-", 1)[1])
    infer = case.startswith("convnet-infer")
    net, reg = model(case)
    cl = channels_last and case.startswith("convnet")
    if cl:
        net = net.to(memory_format=torch.channels_last)
    opt = None if infer else optimizer(case, net, reg)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(7)
    n = x.shape[0]

    def step(idx):
        xb = x.index_select(0, idx)
        if cl:
            xb = xb.contiguous(memory_format=torch.channels_last)
        if infer:
            with torch.no_grad():
                return float(net(xb)[0, 0])
        yb = y.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()
        return loss.item()

    net.train(not infer)
    loss = 0.0
    for _ in range(warmup):
        loss = step(torch.randint(0, n, (batch,), generator=gen))
    images, t0 = 0, time.perf_counter()
    for _ in range(epochs):
        order = torch.arange(n) if infer else torch.randperm(n, generator=gen)
        for s in range(n // batch):
            loss = step(order[s * batch:(s + 1) * batch])
            images += batch
    sec = time.perf_counter() - t0
    return images / sec, sec, loss


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="the cifar-10-batches-bin folder")
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--layout", choices=["nchw", "channels_last"], default="nchw")
    a = p.parse_args()
    cases = a.cases.split(",")
    for c in cases:
        if c not in CASES:
            sys.exit("unknown case %r: use some of %s" % (c, ", ".join(CASES)))
    torch.set_num_threads(a.threads)
    x, y = load_cifar(a.data, a.images)
    print("INFO torch %s threads %d layout %s LD_PRELOAD=%s" % (torch.__version__, torch.get_num_threads(), a.layout,
                                                               os.environ.get("LD_PRELOAD", "")), flush=True)
    for c in cases:
        ips, sec, loss = run_case(c, x, y, a.warmup, a.epochs, a.layout == "channels_last")
        print("RESULT %s %.1f %.3f %.5f" % (c, ips, sec, loss), flush=True)


if __name__ == "__main__":
    main()
