#!/usr/bin/python3
"""Trains the standard text recogniser (a CRNN with CTC) on labelled challenges and measures
how many fresh challenges it reads exactly: the image attacker every defence is measured
against, since anyone can make unlimited labelled samples with `captcha gen`.

Measured: trained 10 minutes on the 2 cores with 10,000 `normal` challenges of one style, it
read 492 of 500 fresh challenges of that style exactly (98.4%, 99.7% of characters). Earlier
versions, at 64x192 with four rows left after pooling, stayed on the CTC plateau for the
whole budget: at a quarter of the pixels the network takes four times the steps, and left
the plateau after one epoch.

The network reads a line of text the way published OCR and captcha breakers do: a stack of
conv blocks turns the grayscale image (scaled to 32x128) into a sequence of feature columns
along the width, a bidirectional GRU reads that sequence, and each column gets a
softmax over the alphabet plus a "blank". CTC loss trains it without telling it where the
characters are, so it copes with characters that touch, overlap or drift; greedy decoding
(the best class per column, repeats merged, blanks dropped) reads it. Unlike cnn.py's one
head per position it does not depend on a fixed layout or a fixed answer length.

Every batch is augmented on the fly (a small random rotation, shear, scale and shift,
brightness and contrast, pixel noise), so the network sees a slightly different copy of each
sample every epoch and learns the letters rather than the samples. It trains with Adam and
a one-cycle learning rate schedule (a warm-up, then a cosine decay to near zero) laid out
over the time budget rather than over a step count, keeps a validation split and the weights
that read it best, and ends with one line on the test set:
  exact A/B (P%), chars C/D (Q%)
where chars counts, per answer, its length minus the edit distance to what was read.

The budget is counted in CPU time, as cnn.py counts it (10 minutes on 2 threads = 20
CPU-minutes), so that a machine shared with other work gives the network the same training it
would get alone. The clock starts after the images are loaded.

  apt-get install python3-torch python3-pil python3-numpy
  captcha gen -n 10000 -out /tmp/train && captcha gen -n 500 -out /tmp/test
  scripts/attack/crnn.py --train /tmp/train --test /tmp/test --minutes 10
  # many gen runs (e.g. many deployment styles) are combined by listing them all:
  scripts/attack/crnn.py --train /tmp/style1 /tmp/style2 /tmp/style3 --test /tmp/test
"""
import argparse
import math
import os
import random
import time

# OpenMP threads that wait for work spin by default, and spinning is counted as CPU time: on
# a machine shared with other work, half the budget went to spinning. Passive waiting lets
# the budget measure work; it must be set before torch starts its thread pool.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

# The 240x80 challenges' 3:1 shape, scaled down: 128 columns give 32 CTC steps for 6
# characters (CTC needs at least 2L+1 = 13), and a quarter of the pixels of 64x192 buys four
# times the steps in the same CPU time, which is what gets the network off CTC's plateau.
H, W = 32, 128


def answer_of(name):
    """NNNN_ANSWER.ext -> ANSWER, as `captcha gen` names its files."""
    return name.split("_", 1)[1].rsplit(".", 1)[0].upper()


def load(directories, limit=None, seed=0):
    """Reads every image of the directories as uint8 grayscale at HxW (12 KB each, so
    100,000 samples fit in 1.2 GB) with its answer. With limit, a random subset of that
    size across all directories is kept."""
    files = []
    for d in directories:
        files += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith((".jpg", ".png"))]
    if limit is not None and limit < len(files):
        files = random.Random(seed).sample(files, limit)
    x = np.empty((len(files), H, W), dtype=np.uint8)
    for i, f in enumerate(files):
        x[i] = np.asarray(Image.open(f).convert("L").resize((W, H), Image.BILINEAR))
    return torch.from_numpy(x), [answer_of(os.path.basename(f)) for f in files]


def augment(x, generator):
    """A random, small geometric and photometric change of every image of a float batch in
    [0, 1]: enough that no two epochs show the same pixels, small enough that every character
    stays whole and inside the frame."""
    n = x.shape[0]
    def u(lo, hi):
        return torch.empty(n).uniform_(lo, hi, generator=generator)
    angle, shear = u(-0.06, 0.06), u(-0.15, 0.15)        # radians (±3.4°); x += shear*y
    sx, sy = u(0.92, 1.08), u(0.9, 1.1)                    # sampling-grid scale: >1 shrinks the text
    tx, ty = u(-0.05, 0.05), u(-0.08, 0.08)                # in half-widths and half-heights
    cos, sin = torch.cos(angle), torch.sin(angle)
    # affine_grid works in [-1, 1] coordinates on both axes; the image is 3 times wider
    # than high, so a rotation mixes the axes with that aspect ratio.
    aspect = H / W
    theta = torch.stack([
        torch.stack([sx * cos, sx * (-sin * aspect + shear * aspect), tx], 1),
        torch.stack([sy * sin / aspect, sy * cos, ty], 1),
    ], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    contrast, brightness = u(0.7, 1.3).view(n, 1, 1, 1), u(-0.15, 0.15).view(n, 1, 1, 1)
    x = (x - 0.5) * contrast + 0.5 + brightness
    noise = u(0.0, 0.06).view(n, 1, 1, 1)
    return x + noise * torch.randn(x.shape, generator=generator)


def standardise(x):
    """Zero mean and unit variance per image: the network then need not learn each sample's
    brightness, and trains faster."""
    return (x - x.mean((2, 3), keepdim=True)) / (x.std((2, 3), keepdim=True) + 1e-6)


class CRNN(nn.Module):
    def __init__(self, classes, channels=(32, 64, 128, 128), hidden=128, layers=1):
        super().__init__()
        def conv(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
        # Height is pooled down to one row while width keeps a quarter of its columns: the
        # (2, 1) pools shrink only the height, so every one of the 32 output columns still
        # looks at its own 4-pixel strip, finer than one character (about 17 pixels here).
        a, b, c, d = channels
        self.features = nn.Sequential(
            *conv(1, a), nn.MaxPool2d(2),                      # 16 x 64
            *conv(a, b), nn.MaxPool2d(2),                      # 8 x 32
            *conv(b, c), *conv(c, c), nn.MaxPool2d((2, 1)),    # 4 x 32
            *conv(c, d), nn.MaxPool2d((4, 1)),                 # 1 x 32
        )
        self.rnn = nn.GRU(d, hidden, num_layers=layers, bidirectional=True, batch_first=True,
                          dropout=0.1 if layers > 1 else 0)
        self.out = nn.Linear(2 * hidden, classes + 1)  # class 0 is the CTC blank

    def forward(self, x):
        f = self.features(x).squeeze(2)                       # N, C, T
        z, _ = self.rnn(f.transpose(1, 2))                    # one feature vector per column
        return self.out(z)                                    # N, T, classes+1


def decode(logits, alphabet):
    """Greedy CTC decoding: the best class per column, repeats merged, blanks dropped."""
    best = logits.argmax(2).numpy()
    out = []
    for row in best:
        chars, prev = [], 0
        for k in row:
            if k != prev and k != 0:
                chars.append(alphabet[k - 1])
            prev = k
        out.append("".join(chars))
    return out


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, cb in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (ca != cb))
    return d[len(b)]


def read(net, x, alphabet):
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), 250):
            out += decode(net(standardise(x[i:i + 250].unsqueeze(1).float() / 255)), alphabet)
    net.train()
    return out


def score(predicted, answers):
    exact = sum(p == a for p, a in zip(predicted, answers))
    chars = sum(max(0, len(a) - edit_distance(p, a)) for p, a in zip(predicted, answers))
    return exact, chars, sum(len(a) for a in answers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", nargs="+", required=True, help="directories of NNNN_ANSWER.jpg; their union is used")
    ap.add_argument("--test", required=True, help="directory of fresh challenges to read")
    ap.add_argument("--minutes", type=float, default=10, help="budget in CPU time / threads")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, help="use only this many training samples")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the one-cycle schedule")
    ap.add_argument("--save", help="write the best weights here")
    ap.add_argument("--channels", default="32,64,128,128", help="conv widths of the four stages")
    ap.add_argument("--hidden", type=int, default=128, help="GRU units per direction")
    ap.add_argument("--layers", type=int, default=1, help="GRU layers")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    t0 = time.time()
    x, answers = load(args.train, args.limit, args.seed)
    tx, tanswers = load([args.test])
    alphabet = sorted(set("".join(answers)))
    index = {c: i + 1 for i, c in enumerate(alphabet)}
    # A validation split, at most 1,000 samples: it picks the best weights and is never
    # trained on.
    n_val = min(1000, len(x) // 10)
    perm = torch.randperm(len(x), generator=gen)
    vx, vanswers = x[perm[:n_val]], [answers[i] for i in perm[:n_val]]
    x, answers = x[perm[n_val:]], [answers[i] for i in perm[n_val:]]
    targets = [torch.tensor([index[c] for c in a]) for a in answers]
    print(f"{len(x)} training, {n_val} validation, {len(tx)} test samples, {len(alphabet)} classes "
          f"(loaded in {time.time() - t0:.0f} s)", flush=True)

    net = CRNN(len(alphabet), tuple(int(c) for c in args.channels.split(",")), args.hidden, args.layers)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    budget = args.minutes * 60 * args.threads
    start = time.process_time()
    def spent():
        return time.process_time() - start

    def lr_at(fraction):
        # One cycle over the budget: linear warm-up for the first 15%, then cosine decay to
        # 1/100 of the peak. Laid out in time, not steps, because how many steps fit the
        # budget depends on the machine.
        if fraction < 0.15:
            return args.lr * (0.04 + 0.96 * fraction / 0.15)
        return args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * (fraction - 0.15) / 0.85)))

    def batches():
        # An endless stream of batches, a fresh order every epoch.
        while True:
            order = torch.randperm(len(x), generator=gen)
            for i in range(0, len(order) - args.batch + 1, args.batch):
                yield order[i:i + args.batch]

    # Validate 16 times over the budget and keep the weights that read the most validation
    # samples exactly (characters break ties).
    check_every = budget / 16
    next_check = check_every
    best, best_state, steps, total, count = (-1, -1), None, 0, 0.0, 0
    for idx in batches():
        fraction = spent() / budget
        if fraction >= 1:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(fraction)
        batch = standardise(augment(x[idx].unsqueeze(1).float() / 255, gen))
        log_probs = net(batch).log_softmax(2).transpose(0, 1)  # T, N, C as CTCLoss wants
        target = torch.cat([targets[j] for j in idx.tolist()])
        target_lengths = torch.tensor([len(targets[j]) for j in idx.tolist()])
        input_lengths = torch.full((len(idx),), log_probs.shape[0], dtype=torch.long)
        loss = ctc(log_probs, target, input_lengths, target_lengths)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)  # CTC's early gradients can spike
        opt.step()
        total, count, steps = total + loss.item(), count + 1, steps + 1
        if spent() >= next_check or spent() >= budget:
            next_check += check_every
            exact, chars, n_chars = score(read(net, vx, alphabet), vanswers)
            print(f"epoch {steps * args.batch / len(x):.1f} ({spent() / 60:.1f} CPU-min, lr {lr_at(min(fraction, 1)):.1e}): "
                  f"loss {total / count:.3f}, validation exact {exact}/{n_val}, chars {chars}/{n_chars}", flush=True)
            total, count = 0.0, 0
            if (exact, chars) > best:
                best, best_state = (exact, chars), {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    if args.save:
        torch.save({"state": best_state, "alphabet": alphabet}, args.save)
    exact, chars, n_chars = score(read(net, tx, alphabet), tanswers)
    print(f"best validation exact {best[0]}/{n_val}; {steps} steps of {args.batch} "
          f"({steps * args.batch / len(x):.1f} epochs) in {spent() / 60:.1f} CPU-min on {args.threads} threads")
    print(f"exact {exact}/{len(tx)} ({100 * exact / len(tx):.1f}%), chars {chars}/{n_chars} ({100 * chars / n_chars:.1f}%)")


if __name__ == "__main__":
    main()
