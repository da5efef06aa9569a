"""Writes noma/passes/expand_math_coefficients.py: the constants of the
polynomial and rational expansions of `exp`, `log` and `tanh` that the
`noma-expand-math` pass emits (noma/passes/expand_math.py).

    python scripts/gen_math_coefficients.py          # rewrite the module
    python scripts/gen_math_coefficients.py --check  # exit 1 if it is stale

Everything is computed here with Python's exact rationals (`fractions`), then
rounded once to the nearest double, so the table depends on nothing but this
file:

- exp: on the reduced argument r (|r| <= ln2/2), the series of
  r*coth(r/2) - 2 = sum_k 2*B_2k/(2k)! * r^2k (Bernoulli numbers B_2k), the
  kernel of the rational form exp(r) = 1 + 2r/(2 + R(r^2) - r);
- log: on s = f/(2+f) (|s| <= 3 - 2*sqrt(2)), the series of
  log((1+s)/(1-s)) - 2s = s * sum_k 2/(2k+1) * s^2k;
- tanh: for |x| < TANH_SMALL, the Pade approximant of tanh(x)/x in z = x^2
  obtained by truncating Lambert's continued fraction
  tanh(x) = x/(1 + z/(3 + z/(5 + ...))).

Each is truncated at the fewest terms whose truncation error over its range
is below TARGET (relative), well under the 2^-53 of a double's rounding, so
the accuracy is set by the rounding of the evaluation, which the tests
measure (tests/passes/test_expand_math.py).
"""

from __future__ import annotations

import math
import sys
from fractions import Fraction
from pathlib import Path

MODULE = Path(__file__).resolve().parents[1] / "noma" / "passes" / "expand_math_coefficients.py"

TARGET = Fraction(1, 2**62)
"""Largest relative truncation error accepted for any expansion."""

LN2_HI_ZERO_BITS = 32
"""Trailing zero bits of ln2's high part, so that n*LN2_HI is exact for
|n| < 2^21 (Cody and Waite's two-part reduction)."""

TANH_SMALL = Fraction(3, 4)
"""Below this |x|, tanh is the Pade approximant; at and above it,
1 - 2/(exp(2|x|) + 1)."""


def rational_to_double(value: Fraction) -> float:
    """The double nearest to `value` (Fraction division rounds correctly)."""
    return value.numerator / value.denominator


def ln2(bits: int = 200) -> Fraction:
    """ln 2 to `bits` bits: sum of 1/(k*2^k) for k >= 1 (log(1/(1-1/2)))."""
    total = Fraction(0)
    for k in range(1, bits + 1):
        total += Fraction(1, k * 2**k)
    return total


def bernoulli(count: int) -> list[Fraction]:
    """B_0 .. B_{count-1} (B_1 = -1/2), by the recurrence sum_j C(m+1,j) B_j = 0."""
    numbers: list[Fraction] = []
    for m in range(count):
        if m == 0:
            numbers.append(Fraction(1))
            continue
        acc = sum(Fraction(math.comb(m + 1, j)) * numbers[j] for j in range(m))
        numbers.append(-acc / (m + 1))
    return numbers


def exp_kernel_terms() -> tuple[list[Fraction], Fraction]:
    """Coefficients a_1.. of r*coth(r/2) - 2 = sum a_k r^2k, and the bound.

    The series alternates with decreasing terms on |r| <= ln2/2, so the first
    term left out bounds the error of R."""
    b = bernoulli(40)
    r_max = ln2() / 2
    z_max = r_max * r_max
    terms: list[Fraction] = []
    for k in range(1, 19):
        a_k = 2 * b[2 * k] / math.factorial(2 * k)
        # d/dR of 2r/(2 + R - r) is at most 2|r|/(2 - |r|)^2; exp(r) >= 2/3.
        bound = abs(a_k) * z_max**k * 2 * r_max / (2 - r_max) ** 2 * Fraction(3, 2)
        if terms and bound < TARGET:
            return terms, bound
        terms.append(a_k)
    raise AssertionError("exp kernel does not converge to TARGET")


def log_kernel_terms() -> tuple[list[Fraction], Fraction]:
    """Coefficients 2/(2k+1) of log((1+s)/(1-s)) - 2s = s * sum_k L_k s^2k.

    All terms are positive; the tail from term k on is at most its first
    term over (1 - z_max). The error of s*R relative to the result
    |log((1+s)/(1-s))| >= 2|s| is that tail over 2."""
    s_max = 3 - Fraction(2) * sqrt2()
    z_max = s_max * s_max
    terms: list[Fraction] = []
    for k in range(1, 40):
        l_k = Fraction(2, 2 * k + 1)
        bound = l_k * z_max**k / (1 - z_max) / 2
        if terms and bound < TARGET:
            return terms, bound
        terms.append(l_k)
    raise AssertionError("log kernel does not converge to TARGET")


def sqrt2(bits: int = 200) -> Fraction:
    """sqrt(2) to about `bits` bits, by Newton's iteration from 3/2."""
    x = Fraction(3, 2)
    for _ in range(9):
        x = (x + 2 / x) / 2
        x = Fraction(round(x * 2**bits), 2**bits)
    return x


def poly_eval(coefficients: list[Fraction], z: Fraction) -> Fraction:
    """c0 + c1*z + ... by Horner."""
    acc = Fraction(0)
    for c in reversed(coefficients):
        acc = acc * z + c
    return acc


def tanh_pade(depth: int) -> tuple[list[Fraction], list[Fraction]]:
    """tanh(x)/x = P(z)/Q(z), from Lambert's continued fraction cut after the
    denominator 2*depth+1, with Q(0) = 1 (polynomials lowest degree first)."""
    # The fraction below level j is N_j/D_j; level `depth` is (2*depth+1)/1.
    num: list[Fraction] = [Fraction(2 * depth + 1)]
    den: list[Fraction] = [Fraction(1)]
    for j in range(depth - 1, -1, -1):
        # (2j+1) + z / (num/den) = ((2j+1)*num + z*den) / num
        shifted = [Fraction(0), *den]
        scaled = [c * (2 * j + 1) for c in num] + [Fraction(0)] * (len(shifted) - len(num))
        new_num = [a + b for a, b in zip(scaled, shifted, strict=True)]
        num, den = new_num, num
    # tanh(x)/x = 1/(N_0/D_0) = D_0/N_0
    p, q = den, num
    scale = q[0]
    return [c / scale for c in p], [c / scale for c in q]


def exp_series(x: Fraction, terms: int = 60) -> Fraction:
    total, term = Fraction(0), Fraction(1)
    for k in range(terms):
        total += term
        term = term * x / (k + 1)
    return total


def tanh_exact(x: Fraction) -> Fraction:
    e = exp_series(2 * x)
    return (e - 1) / (e + 1)


def tanh_terms() -> tuple[list[Fraction], list[Fraction], Fraction]:
    """The shallowest Pade approximant within TARGET below TANH_SMALL; its
    error grows with |x|, so it is measured at the end of the range."""
    x = TANH_SMALL
    exact = tanh_exact(x)
    for depth in range(1, 20):
        p, q = tanh_pade(depth)
        approx = x * poly_eval(p, x * x) / poly_eval(q, x * x)
        error = abs(approx - exact) / exact
        if error < TARGET:
            return p, q, error
    raise AssertionError("tanh Pade does not converge to TARGET")


def double_with_zero_low_bits(value: Fraction, zero_bits: int) -> float:
    """`value` rounded to a double whose last `zero_bits` significand bits are 0."""
    exponent = math.frexp(rational_to_double(value))[1]
    quantum = Fraction(2) ** (exponent - 53 + zero_bits)
    return rational_to_double(Fraction(round(value / quantum)) * quantum)


def render() -> str:
    ln2_exact = ln2()
    ln2_hi = double_with_zero_low_bits(ln2_exact, LN2_HI_ZERO_BITS)
    ln2_lo = rational_to_double(ln2_exact - Fraction(ln2_hi))
    exp_terms, exp_bound = exp_kernel_terms()
    log_terms, log_bound = log_kernel_terms()
    tanh_p, tanh_q, tanh_error = tanh_terms()
    # tanh(x) = x + x*z*M(z)/Q(z), M = (P - Q)/z: the correction is small,
    # so the rounding of the rational part barely reaches the result.
    padded_p = tanh_p + [Fraction(0)] * (len(tanh_q) - len(tanh_p))
    difference = [a - b for a, b in zip(padded_p, tanh_q, strict=True)]
    assert difference[0] == 0
    tanh_m = difference[1:]
    while tanh_m and tanh_m[-1] == 0:
        tanh_m.pop()

    def floats(values: list[Fraction]) -> str:
        return "(\n" + "".join(f"    float.fromhex({rational_to_double(v).hex()!r}),\n" for v in values) + ")"

    def one(value: float) -> str:
        return f"float.fromhex({value.hex()!r})"

    def bound(value: Fraction) -> str:
        return f"2^{math.log2(value):.1f}"

    lines = [
        '"""Generated by scripts/gen_math_coefficients.py: do not edit.',
        "",
        "Constants of the expansions emitted by `noma-expand-math`, each the",
        "double nearest to an exact rational (see the script for their series).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f"LN2_HI = {one(ln2_hi)}",
        f'"""ln 2 with its last {LN2_HI_ZERO_BITS} significand bits zero: n * LN2_HI is exact."""',
        f"LN2_LO = {one(ln2_lo)}",
        '"""ln 2 - LN2_HI, rounded."""',
        f"INV_LN2 = {one(rational_to_double(1 / ln2_exact))}",
        "",
        f"EXP_KERNEL = {floats(exp_terms)}",
        f'"""r*coth(r/2) - 2 = z*(c0 + c1*z + ...), z = r^2; truncation error < {bound(exp_bound)}."""',
        "",
        f"LOG_KERNEL = {floats(log_terms)}",
        f'"""(log((1+s)/(1-s)) - 2s)/s = z*(c0 + c1*z + ...), z = s^2; truncation error < {bound(log_bound)}."""',
        "",
        f"TANH_SMALL = {one(rational_to_double(TANH_SMALL))}",
        '"""Below this |x| the rational form; from it on, 1 - 2/(exp(2|x|) + 1)."""',
        f"TANH_NUMERATOR = {floats(tanh_m)}",
        f"TANH_DENOMINATOR = {floats(tanh_q)}",
        f'"""tanh(x) = x + x*z*M(z)/Q(z), z = x^2 (lowest degree first); error < {bound(tanh_error)}."""',
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not MODULE.exists() or MODULE.read_text() != text:
            print(f"{MODULE} is stale: run python scripts/gen_math_coefficients.py", file=sys.stderr)
            return 1
        return 0
    MODULE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
