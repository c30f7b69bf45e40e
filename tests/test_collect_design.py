"""The study plan (studies/collect/design.py), counted by hand with collections.Counter: balance over
participants, images, pairs and sides; repeats; rankings; determinism."""

from __future__ import annotations

import math
from collections import Counter
from itertools import combinations

import pytest

from studies.collect.design import ab_plan, cell_sequence, default_repeats, rank_depth, rank_plan


def _methods(k):
    return [f"m{i}" for i in range(k)]


def _images(n):
    return [f"img{i:02d}" for i in range(n)]


@pytest.mark.parametrize("I, P", [(1, 1), (4, 6), (15, 6), (3, 3), (7, 10), (6, 15), (5, 1)])
def test_cell_sequence_covers_every_cell_once(I, P):
    seq = cell_sequence(I, P)
    assert sorted(seq) == [(i, p) for i in range(I) for p in range(P)]


def _spread(counter, keys):
    vals = [counter.get(k, 0) for k in keys]
    return max(vals) - min(vals)


@pytest.mark.parametrize("k, I, S, T", [
    (4, 15, 30, None),  # the paper's A/B study: complete
    (4, 15, 7, 20),     # incomplete, gcd(I, P) = 3
    (5, 6, 9, 13),      # 10 pairs, gcd 2
    (3, 4, 5, 7),       # 3 pairs, gcd 1
    (6, 5, 4, 11),      # 15 pairs, gcd 5
    (2, 3, 4, 2),       # one pair
])
def test_ab_plan_is_balanced(k, I, S, T):
    methods, images = _methods(k), _images(I)
    pairs = [frozenset(p) for p in combinations(methods, 2)]
    plan = ab_plan(methods, images, S, T, repeats=0, seed=5)
    T = T or I * len(pairs)
    assert len(plan) == S
    cells = Counter()
    for trials in plan:
        assert len(trials) == T and [t.position for t in trials] == list(range(T))
        seen = Counter((t.image, frozenset(t.methods)) for t in trials)
        assert max(seen.values()) == 1  # no cell twice for one participant
        cells.update(seen)
        assert _spread(Counter(t.image for t in trials), images) <= 1
        pair_spread = _spread(Counter(frozenset(t.methods) for t in trials), pairs)
        assert pair_spread <= (1 if math.gcd(I, len(pairs)) == 1 else 2)
        # sides: within each pair, each method on the left half the time (±1)
        for p in pairs:
            left = Counter(t.methods[0] for t in trials if frozenset(t.methods) == p)
            assert abs(left.get(sorted(p)[0], 0) - left.get(sorted(p)[1], 0)) <= 1
        assert all(len(t.methods) == 2 and t.methods[0] != t.methods[1] for t in trials)
    all_cells = [(i, p) for i in images for p in pairs]
    assert _spread(cells, all_cells) <= 1  # every (image, pair) shown equally often overall (±1)
    assert sum(cells.values()) == S * T
    if T == I * len(pairs):
        assert set(cells.values()) == {S}  # complete design: everyone sees every cell once


def test_repeats_come_later_with_sides_swapped():
    plan = ab_plan(_methods(4), _images(15), 6, None, repeats=3, seed=1)
    for trials in plan:
        firsts = [t for t in trials if t.repeat_of is None]
        reps = [t for t in trials if t.repeat_of is not None]
        assert len(firsts) == 90 and len(reps) == 3
        assert [t.position for t in trials] == list(range(93))
        assert len({trials[r.repeat_of].image for r in reps}) == 3  # on three different images
        for r in reps:
            orig = trials[r.repeat_of]
            assert orig.repeat_of is None and orig.image == r.image
            assert r.methods == orig.methods[::-1]  # same pair, sides swapped
            assert r.position - orig.position > 90 // 4  # well apart: not remembered from the last screen


def test_default_repeats():
    assert [default_repeats(n) for n in (1, 4, 5, 9, 10, 14, 15, 90)] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert sum(t.repeat_of is not None for t in ab_plan(_methods(3), _images(2), 1)[0]) == 1  # 6 trials


def test_rank_plan():
    methods = _methods(4)
    plan = rank_plan(methods, _images(15), 5, None, repeats=2, seed=2)
    layouts = Counter()
    for trials in plan:
        firsts = [t for t in trials if t.repeat_of is None]
        assert sorted(t.image for t in firsts) == _images(15)
        for t in trials:
            assert sorted(t.methods) == methods
            layouts[t.methods.index("m0")] += 1
        for r in (t for t in trials if t.repeat_of is not None):
            assert r.methods == trials[r.repeat_of].methods[::-1] and r.image == trials[r.repeat_of].image
    assert len(layouts) == 4  # m0 appears in every position somewhere
    incomplete = rank_plan(methods, _images(6), 4, 4, repeats=0, seed=0)
    shown = Counter(t.image for trials in incomplete for t in trials)
    assert sum(shown.values()) == 16 and max(shown.values()) - min(shown.values()) <= 1


def test_rank_depth_is_the_papers():
    assert [rank_depth(k) for k in (3, 4, 5, 8)] == [2, 3, 3, 3]


def test_seeded_and_varied():
    a = ab_plan(_methods(4), _images(5), 3, 12, seed=0)
    assert a == ab_plan(_methods(4), _images(5), 3, 12, seed=0)
    assert a != ab_plan(_methods(4), _images(5), 3, 12, seed=1)
    assert a[0] != a[1]  # participants get their own trials and order


def test_impossible_sizes_are_refused():
    with pytest.raises(ValueError, match="1..12"):
        ab_plan(_methods(3), _images(4), 2, 13)
    with pytest.raises(ValueError, match="1..4"):
        rank_plan(_methods(3), _images(4), 2, 5)
