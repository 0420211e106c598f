"""Duration distributions: their means, truncation, and one draw per sample."""

from __future__ import annotations

import statistics
from random import Random

import pytest

from olive.bench import Distribution, Exponential, Fixed, LogNormal, ShiftedGamma


@pytest.mark.parametrize(
    ("dist", "mean", "sd"),
    [
        (LogNormal(120.0, 1.0), 120.0, 120.0),
        (Exponential(30.0), 30.0, 30.0),
        (Fixed(15.0), 15.0, 0.0),
        (ShiftedGamma(3.0, 3, 3.0), 12.0, 3.0 * 3**0.5),
    ],
)
def test_mean_and_spread(dist: Distribution, mean: float, sd: float) -> None:
    rng = Random(11)
    xs = [dist.sample(rng) for _ in range(40_000)]
    assert statistics.fmean(xs) == pytest.approx(mean, rel=0.03)
    assert statistics.pstdev(xs) == pytest.approx(sd, rel=0.06, abs=1e-9)


def test_truncation_redraws() -> None:
    rng = Random(2)
    xs = [ShiftedGamma(3.0, 3, 3.0, 24.0).sample(rng) for _ in range(20_000)]
    assert max(xs) <= 24.0 and min(xs) >= 3.0
    assert statistics.fmean(xs) == pytest.approx(11.51, abs=0.15)  # below the untruncated 12


@pytest.mark.parametrize("dist", [LogNormal(120.0, 1.0), Exponential(30.0), Fixed(15.0)])
def test_one_draw_per_sample_whatever_the_mean(dist: Distribution) -> None:
    """So a change of mean mid-run leaves the random stream aligned across policies."""
    a, b = Random(4), Random(4)
    dist.sample(a)
    dist.with_mean(dist.mean * 3).sample(b)
    assert a.random() == b.random()


def test_with_mean_keeps_the_shape() -> None:
    assert LogNormal(120.0, 0.5).with_mean(60.0) == LogNormal(60.0, 0.5)
    assert ShiftedGamma(3.0, 3, 3.0, 24.0).with_mean(21.0) == ShiftedGamma(3.0, 3, 6.0, 24.0)
