"""Who sees what, in which order and on which side: the trial plan of a study, made once when the study is
built and stored with it (so a restarted server, or a subject who resumes, sees the same plan).

A/B studies. The cells are (image, pair of methods). They are laid out in one cyclic sequence in which
consecutive cells walk through the images (image = c mod I) and through the pairs (pair = (c + ⌊c / lcm(I, P)⌋)
mod P; the shift by the block number makes the map onto I × P one-to-one when I and P share a factor).
Subject s gets the window of `trials` cells that starts where subject s − 1's ended. Hence, whatever the
numbers:
- over all subjects every cell is shown ⌊S·T / (I·P)⌋ or one more times (a complete design when T = I·P);
- each subject sees every image equally often (±1), every pair nearly so (±1 when I and P have no common
  factor, else ±2: the block shift skips one pair once), and no cell twice;
- left/right alternates per pair within a subject from a random start, so each method is on either side
  about equally often, and the side actually shown is stored with the trial.
The images and pairs are shuffled (seeded) before the layout so that designs differ by seed, and each
subject's trials are shown in their own random order.

Ranking studies. A cell is an image; the window logic is the same (T ≤ I; every image by default); the
outputs of a trial are laid out in a random order, stored.

Repeats. A few of each subject's trials are shown again later in the session (at least a quarter of the
session apart when there is room), with the sides swapped (A/B) or the layout reversed (ranking): consistency
checks, never exported as votes (analyze-votes would reject a second vote on the same pair anyway).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class Trial:
    """One screen. `methods` are in display order: (left, right) for A/B, the layout for rankings.
    `repeat_of` is the position of the trial it repeats (None for a first showing)."""

    position: int
    image: str
    methods: tuple[str, ...]
    repeat_of: int | None = None


def default_repeats(trials: int) -> int:
    """A few consistency checks: 3, but never more than one trial in five."""
    return min(3, trials // 5)


def cell_sequence(n_images: int, n_pairs: int) -> list[tuple[int, int]]:
    """(image index, pair index) for c = 0 … I·P − 1, in the cyclic order described above."""
    block = math.lcm(n_images, n_pairs)
    return [(c % n_images, (c + c // block) % n_pairs) for c in range(n_images * n_pairs)]


def _windows(n_cells: int, n_subjects: int, trials: int) -> list[list[int]]:
    """Cell indices of each subject: consecutive windows of the cyclic sequence."""
    return [[(s * trials + t) % n_cells for t in range(trials)] for s in range(n_subjects)]


def _order(rng: random.Random, trials: list[tuple[str, tuple[str, ...]]], repeats: int,
           relayout) -> list[Trial]:
    """Shuffle a subject's trials and insert `repeats` repeated ones, each well after its original."""
    rng.shuffle(trials)
    n = len(trials)
    repeats = min(repeats, n)
    gap = max(1, n // 4)
    # originals from the first part of the session, on distinct images where possible
    candidates = list(range(n))
    rng.shuffle(candidates)
    candidates.sort(key=lambda i: i > max(0, n - 1 - gap))  # stable: early trials first, in random order
    chosen: list[int] = []
    seen_images: set[str] = set()
    for i in candidates:
        if len(chosen) == repeats:
            break
        if trials[i][0] not in seen_images:
            chosen.append(i)
            seen_images.add(trials[i][0])
    for i in candidates:  # fewer distinct images than repeats: allow an image twice
        if len(chosen) == repeats:
            break
        if i not in chosen:
            chosen.append(i)
    after: dict[int, list[int]] = {}
    for i in chosen:
        lo = min(i + gap, n - 1)
        after.setdefault(rng.randint(lo, n - 1), []).append(i)
    out: list[Trial] = []
    position_of: dict[int, int] = {}
    for i, (image, methods) in enumerate(trials):
        position_of[i] = len(out)
        out.append(Trial(len(out), image, methods))
        for j in after.get(i, []):
            img, meths = trials[j]
            out.append(Trial(len(out), img, relayout(meths), repeat_of=position_of[j]))
    return out


def ab_plan(methods: list[str], images: list[str], n_subjects: int, trials: int | None = None,
            repeats: int | None = None, seed: int = 0) -> list[list[Trial]]:
    """Per subject slot, the A/B trials in order (see the module docstring). `trials` per subject defaults to
    the complete design (every pair on every image); `repeats` to `default_repeats(trials)`."""
    pairs = list(combinations(methods, 2))
    n_cells = len(images) * len(pairs)
    trials = n_cells if trials is None else trials
    if not 1 <= trials <= n_cells:
        raise ValueError(f"trials per subject must be in 1..{n_cells}, got {trials}")
    repeats = default_repeats(trials) if repeats is None else repeats
    rng = random.Random(seed)
    imgs, prs = list(images), list(pairs)
    rng.shuffle(imgs)
    rng.shuffle(prs)
    cells = cell_sequence(len(imgs), len(prs))
    plan = []
    for s, window in enumerate(_windows(n_cells, n_subjects, trials)):
        srng = random.Random(f"{seed}/ab/{s}")
        by_pair: dict[int, list[int]] = {}
        for k, c in enumerate(window):
            by_pair.setdefault(cells[c][1], []).append(k)
        left_first = {}
        for p, ks in by_pair.items():
            srng.shuffle(ks)
            start = srng.randrange(2)
            for j, k in enumerate(ks):
                left_first[k] = (j + start) % 2 == 0
        shown = []
        for k, c in enumerate(window):
            i, p = cells[c]
            a, b = prs[p]
            shown.append((imgs[i], (a, b) if left_first[k] else (b, a)))
        plan.append(_order(srng, shown, repeats, lambda m: m[::-1]))
    return plan


def rank_plan(methods: list[str], images: list[str], n_subjects: int, trials: int | None = None,
              repeats: int | None = None, seed: int = 0) -> list[list[Trial]]:
    """Per subject slot, the ranking trials in order: each shows every method's output in a random layout."""
    trials = len(images) if trials is None else trials
    if not 1 <= trials <= len(images):
        raise ValueError(f"trials per subject must be in 1..{len(images)}, got {trials}")
    repeats = default_repeats(trials) if repeats is None else repeats
    rng = random.Random(seed)
    imgs = list(images)
    rng.shuffle(imgs)
    plan = []
    for s, window in enumerate(_windows(len(imgs), n_subjects, trials)):
        srng = random.Random(f"{seed}/rank/{s}")
        shown = []
        for c in window:
            layout = list(methods)
            srng.shuffle(layout)
            shown.append((imgs[c], tuple(layout)))
        plan.append(_order(srng, shown, repeats, lambda m: m[::-1]))
    return plan


def rank_depth(n_methods: int) -> int:
    """How many places a subject assigns: the paper's 1–3 for four methods; with fewer methods, all but the
    last (which that already determines)."""
    return min(3, n_methods - 1)
