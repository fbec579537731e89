#!/usr/bin/python3
"""Trains a small convolutional network on labelled challenges and measures how many fresh
challenges it reads exactly: the attack an open-source CAPTCHA must withstand, since anyone
can make unlimited labelled samples with `captcha gen`.

The network is the usual captcha breaker: four conv blocks (conv, batch norm, ReLU, pool),
a shared dense layer (batch-normalised, which gets it off the uniform-output plateau
these multi-head networks otherwise sit on for many epochs) and one softmax head per character position. It trains with Adam on
grayscale images scaled to 48x144 and standardised until the time budget runs out, keeping the weights that
did best on a validation split, then reads the test set.

The budget is counted in CPU time (25 minutes on 2 threads = 50 CPU-minutes), so that a
machine shared with other work gives the network the same training it would get alone.

  apt-get install python3-torch python3-pil python3-numpy
  captcha gen -n 10000 -out /tmp/train && captcha gen -n 1000 -out /tmp/test
  scripts/attack/cnn.py /tmp/train /tmp/test --minutes 25
"""
import argparse
import os
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

H, W = 48, 144


def load(directory, alphabet=None):
    files = sorted(f for f in os.listdir(directory) if f.endswith((".jpg", ".png")))
    answers = [f.split("_", 1)[1].rsplit(".", 1)[0].upper() for f in files]
    if alphabet is None:
        alphabet = sorted(set("".join(answers)))
    index = {c: i for i, c in enumerate(alphabet)}
    x = np.stack([np.asarray(Image.open(os.path.join(directory, f)).convert("L").resize((W, H), Image.BILINEAR),
                             dtype=np.float32) / 255.0 for f in files])
    # Standardise each image: a network learns faster on zero-mean, unit-variance input.
    x = (x - x.mean(axis=(1, 2), keepdims=True)) / (x.std(axis=(1, 2), keepdims=True) + 1e-6)
    y = np.array([[index.get(c, 0) for c in a] for a in answers], dtype=np.int64)
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y), alphabet


class Net(nn.Module):
    def __init__(self, length, classes):
        super().__init__()
        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))
        self.features = nn.Sequential(block(1, 32), block(32, 64), block(64, 96), block(96, 128))
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(128 * (H // 16) * (W // 16), 256), nn.BatchNorm1d(256),
                                   nn.ReLU(), nn.Dropout(0.2))
        self.heads = nn.ModuleList(nn.Linear(256, classes) for _ in range(length))

    def forward(self, x):
        z = self.dense(self.features(x))
        return torch.stack([h(z) for h in self.heads], 1)


def accuracy(net, x, y):
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(x[i:i + 256]).argmax(2) for i in range(0, len(x), 256)])
    net.train()
    per_char = (pred == y).float().mean().item()
    exact = (pred == y).all(1).float().mean().item()
    return exact, per_char


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--minutes", type=float, default=25)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)

    x, y, alphabet = load(args.train)
    tx, ty, _ = load(args.test, alphabet)
    n_val = len(x) // 10
    vx, vy, x, y = x[:n_val], y[:n_val], x[n_val:], y[n_val:]
    net = Net(y.shape[1], len(alphabet))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    def spent():
        return time.process_time() - start

    start = time.process_time()
    budget = args.minutes * 60 * args.threads
    best, best_state, epoch = -1.0, None, 0
    while spent() < budget:
        epoch += 1
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            if spent() >= budget:
                break
            idx = perm[i:i + 64]
            out = net(x[idx])
            loss = loss_fn(out.reshape(-1, out.shape[-1]), y[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
        exact, per_char = accuracy(net, vx, vy)
        print(f"epoch {epoch} ({spent() / 60:.1f} CPU-min): loss {loss.item():.3f} validation exact {exact:.3f} per-char {per_char:.3f}", flush=True)
        if per_char > best:
            best, best_state = per_char, {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    exact, per_char = accuracy(net, tx, ty)
    print(f"test: {len(tx)} fresh challenges, exact {100 * exact:.1f}%, per character {100 * per_char:.1f}% "
          f"({epoch} epochs in {args.minutes:g} minutes on {args.threads} threads)")


if __name__ == "__main__":
    main()
