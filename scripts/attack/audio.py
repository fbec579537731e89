#!/usr/bin/python3
"""Trains a machine listener on labelled audio challenges and measures how many fresh clips it
reads exactly: the audio attack an open-source CAPTCHA must withstand, since anyone can make
unlimited labelled clips with `captcha gen -audio`.

Two attacks, chosen with --mode:

segment  Segment and classify, the classic attack on spoken captchas. The loudness envelope
         of the 100-4,000 Hz band (where speech is and the rumble and hiss are not) is
         smoothed and thresholded; the threshold is swept and the one that yields the
         answer's length in characters, most stably, wins (merge or split fixes up a clip
         where none does). The lead-in tone is recognised as a run whose energy sits in one
         narrow peak and dropped. A fixed 40-band log-mel window around each segment's centre
         goes to a small 1-D conv net along time, trained on the segments of training clips
         whose segmentation found the right count (the others' labels could be misaligned).
         It also prints how often segmentation found the right count on the test clips.

ctc      A whole-clip recogniser, as speech recognisers are built: a 64-band log-mel
         spectrogram (10 ms hop) -> conv layers -> two-layer bidirectional GRU -> a softmax
         over the alphabet plus a blank per time step, trained with CTC loss, which needs no
         segmentation at all, and SpecAugment-style masking (bands and stretches of time
         blanked at random) so it does not lean on any one cue. Greedy decoding reads it.

The answer length is fixed per application and an attacker sees it, so the segment mode
takes it from --length or, by default, from the training labels.

Both train with Adam and a one-cycle learning rate (warm-up, then cosine decay) laid out over
the time budget, keep a tenth of the training clips (at most 500) for validation and the
weights that read it best, and end with one line on the test set:
  exact A/B (P%), chars C/D (Q%)
where chars counts, per answer, its length minus the edit distance to what was read.

The budget is counted in CPU time, as cnn.py counts it (6 minutes on 2 threads = 12
CPU-minutes), so that a machine shared with other work gives the same training it would get
alone. The clock starts after the clips are loaded and their spectrograms computed.

Only numpy and torch are needed: clips are read with the stdlib wave module and spectrograms
computed with numpy (torchaudio is not in Debian).

  apt-get install python3-torch python3-numpy
  captcha gen -audio -n 3000 -out /tmp/atrain && captcha gen -audio -n 200 -out /tmp/atest
  scripts/attack/audio.py --mode segment --train /tmp/atrain --test /tmp/atest --minutes 6
  scripts/attack/audio.py --mode ctc --train /tmp/atrain --test /tmp/atest --minutes 6
"""
import argparse
import math
import os
import random
import time
import wave

# OpenMP threads that wait for work spin by default, and spinning is counted as CPU time: on
# a machine shared with other work much of the budget went to spinning. Passive waiting lets
# the budget measure work; it must be set before torch starts its thread pool.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numpy as np
import torch
import torch.nn as nn

RATE = 11025
HOP = 110          # 10 ms
WIN = 276          # 25 ms analysis window, the usual for speech
NFFT = 512         # zero-padded: 21.5 Hz bins, fine enough for 64 mel bands down low
FREQS = np.fft.rfftfreq(NFFT, 1 / RATE)
WINDOW = np.hanning(WIN).astype(np.float32)


def answer_of(name):
    """NNNN_ANSWER.wav -> ANSWER, as `captcha gen` names its files."""
    return name.split("_", 1)[1].rsplit(".", 1)[0].upper()


def read_wav(path):
    """Samples in [-1, 1] of an 8- or 16-bit mono WAV file."""
    with wave.open(path) as w:
        raw, width = w.readframes(w.getnframes()), w.getsampwidth()
    if width == 1:
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    return np.frombuffer(raw, "<i2").astype(np.float32) / 32768


def power_spectrogram(x):
    """|STFT|^2, frames x bins, 25 ms Hann windows every 10 ms."""
    x = np.pad(x, (WIN // 2, WIN // 2))
    frames = np.lib.stride_tricks.sliding_window_view(x, WIN)[::HOP] * WINDOW
    return (np.abs(np.fft.rfft(frames, NFFT)) ** 2).astype(np.float32)


def mel_filters(bands, fmin=60.0, fmax=RATE / 2):
    """Triangular filters evenly spaced on the mel scale (HTK formula), bins x bands."""
    mel = lambda f: 2595 * np.log10(1 + f / 700)
    hz = lambda m: 700 * (10 ** (m / 2595) - 1)
    edges = hz(np.linspace(mel(fmin), mel(fmax), bands + 2))
    fb = np.zeros((len(FREQS), bands), dtype=np.float32)
    for b in range(bands):
        lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
        fb[:, b] = np.clip(np.minimum((FREQS - lo) / (mid - lo), (hi - FREQS) / (hi - mid)), 0, None)
    return fb


def log_mel(power, fb):
    """Log-mel features normalised per clip: each band minus its median over the clip (the
    background's level, so loudness and the babble's colour drop out), over a global scale."""
    m = np.log(power @ fb + 1e-8)
    return ((m - np.median(m, axis=0)) / 2.5).astype(np.float32)


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, cb in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (ca != cb))
    return d[len(b)]


def score(predicted, answers):
    exact = sum(p == a for p, a in zip(predicted, answers))
    chars = sum(max(0, len(a) - edit_distance(p, a)) for p, a in zip(predicted, answers))
    return exact, chars, sum(len(a) for a in answers)


def list_clips(directories, limit=None, seed=0):
    files = []
    for d in directories:
        files += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".wav")]
    if limit is not None and limit < len(files):
        files = random.Random(seed).sample(files, limit)
    return files, [answer_of(os.path.basename(f)) for f in files]


def one_cycle(peak):
    """The learning rate at a fraction of the budget: linear warm-up over the first 15%, then
    cosine decay to 1/100 of the peak. Laid out in time, not steps, because how many steps
    fit the budget depends on the machine."""
    def lr(fraction):
        if fraction < 0.15:
            return peak * (0.04 + 0.96 * fraction / 0.15)
        return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(fraction - 0.15, 0.85) / 0.85)))
    return lr


def train_loop(net, step, validate, args, check_times=16):
    """Calls step(lr) until the CPU budget is spent, validating check_times times and keeping
    the weights with the best validation score (a tuple, compared in order)."""
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    lr_at = one_cycle(args.lr)
    budget = args.minutes * 60 * args.threads
    start = time.process_time()
    spent = lambda: time.process_time() - start
    check_every = budget / check_times
    next_check = check_every
    best, best_state, steps, total, count = None, None, 0, 0.0, 0
    while True:
        fraction = spent() / budget
        if fraction >= 1:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(fraction)
        loss = step()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)  # early CTC gradients can spike
        opt.step()
        total, count, steps = total + loss.item(), count + 1, steps + 1
        if spent() >= next_check or spent() >= budget:
            next_check += check_every
            net.eval()
            with torch.no_grad():
                result, text = validate()
            net.train()
            print(f"step {steps} ({spent() / 60:.1f} CPU-min, lr {lr_at(fraction):.1e}): loss {total / count:.3f}, "
                  f"validation {text}", flush=True)
            total, count = 0.0, 0
            if best is None or result > best:
                best, best_state = result, {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    net.eval()
    print(f"{steps} steps in {spent() / 60:.1f} CPU-min on {args.threads} threads", flush=True)
    return steps


# ---------------------------------------------------------------------------------------------
# segment mode

SEG_BANDS = 40
SEG_FRAMES = 72     # 0.72 s around a segment's centre: the longest characters ("W") fit
SEG_SHIFT = 6       # training crops move the window by up to this many frames either way
BAND = (FREQS >= 100) & (FREQS <= 4000)


def envelope(power):
    """Loudness of the speech band in dB, smoothed over 70 ms so that the dips inside one
    spoken character (the stop in "X", the two syllables of "W") are filled in."""
    e = 10 * np.log10(power[:, BAND].sum(1) + 1e-10)
    return np.convolve(e, np.ones(7) / 7, mode="same")


def tonal(power, run):
    """Whether a run of frames is the lead-in tone: most of its band energy within a few
    bins of one peak. Spoken vowels spread over many harmonics and stay well below."""
    p = power[run[0]:run[1], BAND]
    peak = p.argmax(1)
    near = np.array([row[max(k - 3, 0):k + 4].sum() for row, k in zip(p, peak)])
    return np.median(near / (p.sum(1) + 1e-12)) > 0.85


def runs_above(e, threshold, min_gap=8, min_len=8):
    """Runs of frames above threshold, those closer than min_gap frames merged and those
    shorter than min_len frames dropped: a blip of babble is not a character."""
    above = np.concatenate([[False], e > threshold, [False]])
    edges = np.flatnonzero(above[1:] != above[:-1])
    runs = [[a, b] for a, b in zip(edges[::2], edges[1::2])]
    merged = []
    for r in runs:
        if merged and r[0] - merged[-1][1] < min_gap:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    return [r for r in merged if r[1] - r[0] >= min_len]


def blank_tone(e, power):
    """Blanks the lead-in tone out of the envelope e, so that it neither counts nor sets the
    levels; returns the frame after the tone ends (0 if none was found)."""
    end = 0
    for r in runs_above(e, np.percentile(e, 60)):
        if tonal(power, r):
            e[max(r[0] - 5, 0):r[1] + 5] = e.min()
            end = max(end, r[1])
    return end


def segment(power, length, e=None):
    """Finds `length` character segments as (start, end) frames and whether the threshold
    sweep found exactly that many; when it did not, the nearest count is merged (the two
    segments with the smallest gap) or split (the longest at its deepest dip) to length.
    e, if given, is the envelope to segment (with the tone already blanked)."""
    if e is None:
        e = envelope(power)
        blank_tone(e, power)
    lo, hi = np.percentile(e, 20), np.percentile(e, 99.5)
    sweep = [runs_above(e, lo + (hi - lo) * k / 80) for k in range(8, 76)]
    counts = [len(s) for s in sweep]
    # Among the thresholds giving `length` segments, the middle of the longest stretch of
    # them: the count that holds over the widest range of thresholds is the most plausible.
    best, start = None, None
    for k, c in enumerate(counts + [None]):
        if c == length and start is None:
            start = k
        elif c != length and start is not None:
            if best is None or k - start > best[1] - best[0]:
                best = (start, k)
            start = None
    if best is not None:
        return sweep[(best[0] + best[1] - 1) // 2], True
    # No threshold gave the count: start from the nearest count, preferring too many (a
    # spurious blip is easier to merge away than a missed character to find).
    k = min(range(len(counts)), key=lambda k: (abs(counts[k] - length), counts[k] < length))
    runs = [list(r) for r in sweep[k]]
    while len(runs) > length:
        gaps = [runs[i + 1][0] - runs[i][1] for i in range(len(runs) - 1)]
        i = int(np.argmin(gaps))
        runs[i:i + 2] = [[runs[i][0], runs[i + 1][1]]]
    while len(runs) < length:
        if not runs:
            runs = [[0, len(e)]]
        i = max(range(len(runs)), key=lambda i: runs[i][1] - runs[i][0])
        a, b = runs[i]
        if b - a < 4:
            break
        q = (b - a) // 4  # the deepest dip in the middle half
        cut = a + q + int(np.argmin(e[a + q:b - q]))
        runs[i:i + 1] = [[a, cut], [cut, b]]
    while len(runs) < length:  # a near-silent clip: pad with copies so every slot is read
        runs.append(runs[-1])
    return runs, False


# The clip tells a listener which voice to follow: the opening sentence after the tone is
# spoken in the answer's voice, and the distractor is always a voice of the other pitch
# range (the engine's code says so). An attacker who reads the code does what the listener
# does: it measures the opening's pitch and keeps only what is spoken near it.

PITCH_WIN = 441     # 40 ms: two periods of the lowest voice
LAGS = (RATE // 400, RATE // 60)
_hann = np.hanning(PITCH_WIN)
_window_ac = np.fft.irfft(np.abs(np.fft.rfft(_hann, 1024)) ** 2, 1024)


def pitch_track(x, frames):
    """Per 10 ms frame: the fundamental frequency in Hz and the strength of periodicity (the
    normalised autocorrelation at that period, corrected for the window, as Boersma's method
    does), searched over 60-400 Hz."""
    xp = np.pad(x, (PITCH_WIN // 2, PITCH_WIN // 2 + HOP))
    fr = np.lib.stride_tricks.sliding_window_view(xp, PITCH_WIN)[::HOP][:frames]
    fr = fr - fr.mean(1, keepdims=True)
    ac = np.fft.irfft(np.abs(np.fft.rfft(fr * _hann, 1024)) ** 2, 1024)[:, :LAGS[1] + 1]
    ac = ac / (ac[:, :1] + 1e-9) / (_window_ac[:LAGS[1] + 1] / _window_ac[0])
    lag = LAGS[0] + ac[:, LAGS[0]:LAGS[1]].argmax(1)
    return RATE / lag, ac[np.arange(len(ac)), lag]


def segment_by_voice(x, power, length):
    """Segments only what is spoken in the opening's voice: frames whose pitch is within a
    factor of 1.4 of the opening's median pitch keep their loudness, the rest are silenced;
    the opening itself is skipped (it ends at the first 0.2 s without that voice, at least
    0.8 s after the tone), and the rest is segmented as segment() does."""
    e = envelope(power)
    tone_end = blank_tone(e, power)
    f0, strength = pitch_track(x, len(e))
    voiced = strength > 0.45
    opening = slice(tone_end + 15, tone_end + 135)
    ref = f0[opening][voiced[opening]]
    if len(ref) < 5:
        return segment(power, length, e)
    ref = np.median(ref)
    own = voiced & (np.abs(np.log2(f0 / ref)) < 0.5)
    # A voice's frames come in runs broken by consonants and glitches: keep a frame that has
    # the voice within 30 ms either side.
    own = np.convolve(own.astype(float), np.ones(7), mode="same") > 0
    masked = np.where(own, e, e.min())
    k = tone_end + 80
    quiet = 0
    while k < len(own):
        quiet = 0 if own[k] else quiet + 1
        if quiet >= 20:
            break
        k += 1
    masked[:k] = e.min()
    return segment(power, length, masked)

def windows(features, runs, margin):
    """A fixed window of SEG_FRAMES (+ 2*margin) frames around each run's centre."""
    half = SEG_FRAMES // 2 + margin
    padded = np.pad(features, ((half, half), (0, 0)))
    out = []
    for a, b in runs:
        c = (a + b) // 2 + half
        out.append(padded[c - half:c + half].T)  # bands x frames
    return np.stack(out)


def load_segments(files, length, margin, by_voice=False):
    """Per clip: its segments' windows and whether segmentation found the right count."""
    fb = mel_filters(SEG_BANDS)
    cut, found = [], []
    for f in files:
        x = read_wav(f)
        power = power_spectrogram(x)
        runs, ok = segment_by_voice(x, power, length) if by_voice else segment(power, length)
        cut.append(windows(log_mel(power, fb), runs, margin))
        found.append(ok)
    return cut, found


class SegmentNet(nn.Module):
    """A small 1-D conv net along time over the 40 log-mel bands of one window."""

    def __init__(self, classes):
        super().__init__()
        def conv(i, o, k):
            return [nn.Conv1d(i, o, k, padding=k // 2, bias=False), nn.BatchNorm1d(o), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*conv(SEG_BANDS, 96, 5), *conv(96, 96, 5), nn.MaxPool1d(2),
                                  *conv(96, 128, 3), *conv(128, 128, 3), nn.MaxPool1d(2),
                                  *conv(128, 160, 3))
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(2 * 160, classes))

    def forward(self, x):
        z = self.body(x)
        # Mean and max over time: where in the window the character's cues fall varies.
        return self.head(torch.cat([z.mean(2), z.amax(2)], 1))


def spec_augment(x, generator, bands, times, max_band, max_time):
    """Blanks `bands` random stretches of up to max_band bands and `times` of up to max_time
    frames of every example (SpecAugment), in place; x is N x bands x frames, zero-mean."""
    n, f, t = x.shape
    for _ in range(bands):
        w = torch.randint(0, max_band + 1, (n,), generator=generator)
        s = (torch.rand(n, generator=generator) * (f - w)).long()
        idx = torch.arange(f)
        x.masked_fill_(((idx >= s[:, None]) & (idx < (s + w)[:, None]))[:, :, None], 0)
    for _ in range(times):
        w = torch.randint(0, max_time + 1, (n,), generator=generator)
        s = (torch.rand(n, generator=generator) * (t - w).clamp(min=1)).long()
        idx = torch.arange(t)
        x.masked_fill_(((idx >= s[:, None]) & (idx < (s + w)[:, None]))[:, None, :], 0)
    return x


def run_segment(args, files, answers, vfiles, vanswers, tfiles, tanswers, alphabet, gen):
    index = {c: i for i, c in enumerate(alphabet)}
    t0 = time.time()
    cut, found = load_segments(files, args.length, SEG_SHIFT, args.voice)
    vcut, vfound = load_segments(vfiles, args.length, 0, args.voice)
    tcut, tfound = load_segments(tfiles, args.length, 0, args.voice)
    # Training segments only from clips segmented into the right count.
    x = torch.from_numpy(np.concatenate([c for c, ok in zip(cut, found) if ok]))
    y = torch.tensor([index[ch] for a, ok in zip(answers, found) if ok for ch in a])
    print(f"segmentation found {args.length} segments in {sum(found)}/{len(files)} training clips, "
          f"{sum(vfound)}/{len(vfiles)} validation, {sum(tfound)}/{len(tfiles)} test; "
          f"{len(x)} training segments (prepared in {time.time() - t0:.0f} s)", flush=True)

    net = SegmentNet(len(alphabet))

    def step():
        idx = torch.randint(0, len(x), (args.batch,), generator=gen)
        # A random crop moves the window a little, as segmentation would on another clip.
        shift = int(torch.randint(0, 2 * SEG_SHIFT + 1, (1,), generator=gen))
        batch = x[idx, :, shift:shift + SEG_FRAMES].clone()
        batch = spec_augment(batch, gen, bands=1, times=1, max_band=6, max_time=8)
        return nn.functional.cross_entropy(net(batch), y[idx])

    def read(cuts):
        flat = torch.from_numpy(np.concatenate(cuts))
        pred = torch.cat([net(flat[i:i + 512]).argmax(1) for i in range(0, len(flat), 512)]).tolist()
        out, k = [], 0
        for c in cuts:
            out.append("".join(alphabet[p] for p in pred[k:k + len(c)]))
            k += len(c)
        return out

    def validate():
        exact, chars, n_chars = score(read(vcut), vanswers)
        return (exact, chars), f"exact {exact}/{len(vcut)}, chars {chars}/{n_chars}"

    train_loop(net, step, validate, args)
    with torch.no_grad():
        predicted = read(tcut)
    print(f"segmentation found the right count ({args.length}) in {sum(tfound)}/{len(tfiles)} test clips "
          f"({100 * sum(tfound) / len(tfiles):.1f}%); exact on those: "
          f"{sum(p == a for p, a, ok in zip(predicted, tanswers, tfound) if ok)}/{sum(tfound)}")
    return predicted


# ---------------------------------------------------------------------------------------------
# ctc mode

CTC_BANDS = 64
MAX_FRAMES = 1200   # 12 s: longer clips are cut (the engine makes at most 10 s)


def load_spectrograms(files):
    """Per clip a float16 frames x 64 log-mel array (a 6 s clip is 77 KB)."""
    fb = mel_filters(CTC_BANDS)
    return [torch.from_numpy(log_mel(power_spectrogram(read_wav(f))[:MAX_FRAMES], fb)).half() for f in files]


class CTCNet(nn.Module):
    """Conv layers shrink the 64 bands to 4 and time by 8 (80 ms steps: a spoken character
    lasts four or more, CTC needs one per character and a blank between repeats), then a
    BiGRU reads the steps in order and a linear layer gives each step's class scores (0 is
    the blank). The first two convs stride instead of pooling: a full-resolution layer over
    a 6 s clip cost as much as all the rest."""

    def __init__(self, classes, hidden=128, layers=1):
        super().__init__()
        def conv(i, o, stride=1):
            return [nn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(
            *conv(1, 32, 2),                         # 32 bands, T/2
            *conv(32, 48, 2),                        # 16, T/4
            *conv(48, 64), nn.MaxPool2d(2),          # 8, T/8
            *conv(64, 96), nn.MaxPool2d((2, 1)),     # 4, T/8
        )
        self.project = nn.Sequential(nn.Linear(96 * 4, 192), nn.ReLU(inplace=True), nn.Dropout(0.1))
        self.rnn = nn.GRU(192, hidden, num_layers=layers, bidirectional=True, batch_first=True,
                          dropout=0.1 if layers > 1 else 0)
        self.out = nn.Linear(2 * hidden, classes + 1)

    def forward(self, x):                      # N x bands x frames
        f = self.features(x.unsqueeze(1))      # N x C x 4 x T/8
        n, c, h, t = f.shape
        z, _ = self.rnn(self.project(f.permute(0, 3, 1, 2).reshape(n, t, c * h)))
        return self.out(z)                     # N x T/8 x classes+1


def pad_batch(specs):
    """Stacks frames x bands arrays into N x bands x frames, zero-padded (zero is the
    background level after normalisation), and the steps each clip gives the CTC loss."""
    longest = max(len(s) for s in specs)
    longest += -longest % 8
    x = torch.zeros(len(specs), CTC_BANDS, longest)
    for i, s in enumerate(specs):
        x[i, :, :len(s)] = s.T.float()
    return x, torch.tensor([len(s) // 8 for s in specs])


def greedy(logits, lengths, alphabet):
    best = logits.argmax(2).tolist()
    out = []
    for row, n in zip(best, lengths.tolist()):
        chars, prev = [], 0
        for k in row[:n]:
            if k != prev and k != 0:
                chars.append(alphabet[k - 1])
            prev = k
        out.append("".join(chars))
    return out


def run_ctc(args, files, answers, vfiles, vanswers, tfiles, tanswers, alphabet, gen):
    index = {c: i + 1 for i, c in enumerate(alphabet)}
    t0 = time.time()
    specs, vspecs, tspecs = load_spectrograms(files), load_spectrograms(vfiles), load_spectrograms(tfiles)
    targets = [torch.tensor([index[c] for c in a]) for a in answers]
    print(f"spectrograms of {len(specs) + len(vspecs) + len(tspecs)} clips in {time.time() - t0:.0f} s, "
          f"{sum(s.numel() for s in specs) * 2 / 1e6:.0f} MB for training", flush=True)

    net = CTCNet(len(alphabet))
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)

    def step():
        idx = torch.randint(0, len(specs), (args.batch,), generator=gen).tolist()
        x, lengths = pad_batch([specs[i] for i in idx])
        x = spec_augment(x, gen, bands=2, times=4, max_band=8, max_time=10)
        log_probs = net(x).log_softmax(2).transpose(0, 1)  # T, N, C as CTCLoss wants
        return ctc(log_probs, torch.cat([targets[i] for i in idx]), lengths,
                   torch.tensor([len(targets[i]) for i in idx]))

    def read(clips):
        out = []
        # Clips of similar length batched together waste little on padding.
        order = sorted(range(len(clips)), key=lambda i: len(clips[i]))
        text = {}
        for k in range(0, len(order), 64):
            part = order[k:k + 64]
            x, lengths = pad_batch([clips[i] for i in part])
            for i, t in zip(part, greedy(net(x), lengths, alphabet)):
                text[i] = t
        return [text[i] for i in range(len(clips))]

    def validate():
        exact, chars, n_chars = score(read(vspecs), vanswers)
        return (exact, chars), f"exact {exact}/{len(vspecs)}, chars {chars}/{n_chars}"

    train_loop(net, step, validate, args)
    with torch.no_grad():
        return read(tspecs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=("segment", "ctc"), required=True)
    ap.add_argument("--train", nargs="+", required=True, help="directories of NNNN_ANSWER.wav; their union is used")
    ap.add_argument("--test", required=True, help="directory of fresh clips to read")
    ap.add_argument("--minutes", type=float, default=6, help="budget in CPU time / threads")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, help="use only this many training clips")
    ap.add_argument("--length", type=int, help="answer length (default: the commonest in the training labels)")
    ap.add_argument("--batch", type=int, help="batch size (default 64 segments, 32 clips)")
    ap.add_argument("--voice", action="store_true",
                    help="segment mode: keep only what is spoken in the opening's voice (segment_by_voice)")
    ap.add_argument("--lr", type=float, help="peak learning rate (default 3e-3 segment, 2e-3 ctc)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    if args.batch is None:
        args.batch = 64 if args.mode == "segment" else 32
    if args.lr is None:
        args.lr = 3e-3 if args.mode == "segment" else 2e-3

    files, answers = list_clips(args.train, args.limit, args.seed)
    tfiles, tanswers = list_clips([args.test])
    if args.length is None:
        lengths = [len(a) for a in answers]
        args.length = max(set(lengths), key=lengths.count)
    alphabet = sorted(set("".join(answers)))
    # A validation split of the training clips, never trained on: it picks the best weights.
    n_val = min(500, len(files) // 10)
    order = random.Random(args.seed).sample(range(len(files)), len(files))
    vfiles, vanswers = [files[i] for i in order[:n_val]], [answers[i] for i in order[:n_val]]
    files, answers = [files[i] for i in order[n_val:]], [answers[i] for i in order[n_val:]]
    print(f"{args.mode}: {len(files)} training, {n_val} validation, {len(tfiles)} test clips, "
          f"{len(alphabet)} classes, answer length {args.length}", flush=True)

    run = run_segment if args.mode == "segment" else run_ctc
    predicted = run(args, files, answers, vfiles, vanswers, tfiles, tanswers, alphabet, gen)
    exact, chars, n_chars = score(predicted, tanswers)
    print(f"exact {exact}/{len(tfiles)} ({100 * exact / len(tfiles):.1f}%), "
          f"chars {chars}/{n_chars} ({100 * chars / n_chars:.1f}%)")


if __name__ == "__main__":
    main()
