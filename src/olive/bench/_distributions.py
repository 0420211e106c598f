"""The duration distributions a scenario may name (``dist = "..."``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random
from statistics import NormalDist
from typing import Protocol

_STANDARD_NORMAL_INV = NormalDist().inv_cdf


class Distribution(Protocol):
    @property
    def mean(self) -> float: ...

    def sample(self, rng: Random) -> float: ...

    def with_mean(self, mean: float) -> Distribution:
        """The same shape with another mean (for ``[[cell.change]]`` drift)."""
        ...


@dataclass(frozen=True, slots=True)
class Fixed:
    value_s: float

    @property
    def mean(self) -> float:
        return self.value_s

    def sample(self, rng: Random) -> float:
        rng.random()  # one draw per sample whatever the shape: keeps random streams aligned
        return self.value_s

    def with_mean(self, mean: float) -> Fixed:
        return Fixed(mean)


@dataclass(frozen=True, slots=True)
class Exponential:
    mean_s: float

    @property
    def mean(self) -> float:
        return self.mean_s

    def sample(self, rng: Random) -> float:
        return -self.mean_s * math.log(1.0 - rng.random())

    def with_mean(self, mean: float) -> Exponential:
        return Exponential(mean)


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Parameterised by its mean and coefficient of variation (sd / mean)."""

    mean_s: float
    cv: float

    @property
    def mean(self) -> float:
        return self.mean_s

    @property
    def _mu_sigma(self) -> tuple[float, float]:
        sigma2 = math.log1p(self.cv**2)
        return math.log(self.mean_s) - sigma2 / 2.0, math.sqrt(sigma2)

    def sample(self, rng: Random) -> float:
        mu, sigma = self._mu_sigma
        # Inverse CDF from one uniform, so each sample uses exactly one draw.
        u = min(max(rng.random(), 1e-12), 1.0 - 1e-12)
        return math.exp(mu + sigma * _STANDARD_NORMAL_INV(u))

    def with_mean(self, mean: float) -> LogNormal:
        return LogNormal(mean, self.cv)


@dataclass(frozen=True, slots=True)
class ShiftedGamma:
    """``shift + Gamma(shape, scale)``, truncated at ``max_s``: redrawn until at most ``max_s``."""

    shift_s: float
    shape: float
    scale_s: float
    max_s: float | None = None

    @property
    def mean(self) -> float:
        """The mean before truncation (the truncated one is a little lower)."""
        return self.shift_s + self.shape * self.scale_s

    def sample(self, rng: Random) -> float:
        for _ in range(10_000):
            value = self.shift_s + rng.gammavariate(self.shape, self.scale_s)
            if self.max_s is None or value <= self.max_s:
                return value
        return self.max_s if self.max_s is not None else self.shift_s

    def with_mean(self, mean: float) -> ShiftedGamma:
        return ShiftedGamma(self.shift_s, self.shape, max(1e-9, (mean - self.shift_s) / self.shape), self.max_s)
