"""A pure-Python reference of the runtime's random generator, written from
the published algorithms: https://prng.di.unimi.it/splitmix64.c and
https://prng.di.unimi.it/xoshiro256starstar.c (Blackman & Vigna), with the
double conversions noma_runtime.h specifies."""

from __future__ import annotations

import math

MASK64 = (1 << 64) - 1
NOMA_DEFAULT_SEED = 0x4E4F4D41  # "NOMA"

def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK64


def splitmix64_outputs(seed: int, n: int) -> list[int]:
    x = seed & MASK64
    out = []
    for _ in range(n):
        x = (x + 0x9E3779B97F4A7C15) & MASK64
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        out.append(z ^ (z >> 31))
    return out


class RefRng:
    """xoshiro256** with the reference splitmix64 seeding, plus the NOMA
    double conversions (uniform, uniform_range, Box-Muller normal)."""

    def __init__(self, seed: int | None = None, *, state: list[int] | None = None) -> None:
        if state is not None:
            self.s = [w & MASK64 for w in state]
        else:
            assert seed is not None
            self.s = splitmix64_outputs(seed, 4)

    def next(self) -> int:
        s = self.s
        result = (_rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def uniform(self) -> float:
        return (self.next() >> 11) * 2.0**-53

    def uniform_range(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.uniform()

    def normal(self, mean: float, std: float) -> float:
        u1 = self.uniform()
        u2 = self.uniform()
        z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(math.tau * u2)
        return mean + std * z
