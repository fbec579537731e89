#!/usr/bin/python3
"""Measures how many challenges off-the-shelf OCR reads exactly.

For every NNNN_ANSWER.jpg in a directory (as `captcha gen` and the peer's gen write them) it
tries the clean-ups an attacker tries first, each on its own, and counts a challenge as read
if ANY of them gives Tesseract the exact answer:
  plain grayscale; grayscale + Otsu threshold; 3x upscale + median filter + Otsu.
Tesseract runs in single-line mode with Latin letters (both cases) and digits as its whitelist;
answers are compared case-insensitively.

  apt-get install tesseract-ocr python3-pil python3-numpy
  captcha gen -n 300 -out /tmp/ours && scripts/attack/ocr.py /tmp/ours
"""
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image, ImageFilter


def otsu(gray):
    hist = np.bincount(gray.ravel(), minlength=256).astype(float)
    total = gray.size
    sum_all = np.dot(np.arange(256), hist)
    best, threshold, w0, sum0 = -1.0, 0, 0.0, 0.0
    for t in range(256):
        w0 += hist[t]
        if w0 == 0 or w0 == total:
            continue
        sum0 += t * hist[t]
        m0, m1 = sum0 / w0, (sum_all - sum0) / (total - w0)
        between = w0 * (total - w0) * (m0 - m1) ** 2
        if between > best:
            best, threshold = between, t
    return np.where(gray > threshold, 255, 0).astype(np.uint8)


def variants(path):
    gray = Image.open(path).convert("L")
    yield gray
    yield Image.fromarray(otsu(np.asarray(gray)))
    big = gray.resize((gray.width * 3, gray.height * 3), Image.BICUBIC).filter(ImageFilter.MedianFilter(5))
    yield Image.fromarray(otsu(np.asarray(big)))


def tesseract(img, whitelist):
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        img.save(f.name)
        out = subprocess.run(
            ["tesseract", f.name, "-", "--psm", "7", "-c", "tessedit_char_whitelist=" + whitelist],
            capture_output=True, text=True).stdout
    return "".join(out.split()).upper()


def read(path, answer, whitelist):
    return any(tesseract(v, whitelist) == answer for v in variants(path))


def main():
    directory = sys.argv[1]
    whitelist = sys.argv[2] if len(sys.argv) > 2 else "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    files = sorted(f for f in os.listdir(directory) if f.endswith((".jpg", ".png")))
    jobs = [(os.path.join(directory, f), f.split("_", 1)[1].rsplit(".", 1)[0].upper()) for f in files]
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        hits = sum(pool.map(lambda j: read(j[0], j[1], whitelist), jobs))
    print(f"{directory}: OCR read {hits} of {len(jobs)} exactly ({100 * hits / len(jobs):.1f}%)")


if __name__ == "__main__":
    main()
