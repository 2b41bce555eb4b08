"""R's wilcox.test interval, estimate and p-value, R's zeroin, and CLES, against published vectors.

Vectors come from canary-judge.md §8 and from Kayenta's own unit tests
(``kayenta-mannwhitney/.../MannWhitneySuite.scala``, ``WilcoxTests.scala``,
``kayenta-judge/.../StatisticSuite.scala``); WilcoxTests' expectations are R's output,
which makes them a check of the zeroin port as well.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import mannwhitneyu, norm

from canary.mann_whitney import AllTiedError, cles, mann_whitney, wilcoxon_difference, zeroin

# Kayenta's "large input": sparse error rates, mostly zeros (WilcoxTests, ClassifierSuite).
LARGE_EXPERIMENT = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.6666666666666572, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 3.7037037037036811, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.5625000000000142,
    0.0, 0.0, 0.0, 0.0, 3.3333333333333428, 0.0, 1.7543859649122737, 0.0,
    1.8518518518518476, 0.0, 0.0, 1.8518518518518476, 0.0, 0.0, 1.5151515151515156,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.7857142857142776,
    1.3333333333333286, 0.0, 3.1250000000000142, 1.9607843137255117,
    1.4492753623188293, 2.4390243902438868, 1.6393442622950687, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 1.6129032258064484, 1.9607843137255117, 1.5873015873015817, 0.0,
    0.0, 2.8169014084507182, 0.0, 0.0, 3.0303030303030454, 0.0, 0.0,
    3.3898305084745743, 0.0, 0.0, 1.234567901234584, 0.0, 0.0, 0.0, 0.0,
    1.7241379310344769, 0.0, 0.0, 0.0, 0.0, 1.6949152542372872, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 1.470588235294116, 0.0, 0.0, 1.3698630136986196,
    3.225806451612911, 1.7543859649122879, 3.4482758620689538, 0.0,
    3.3333333333333428, 0.0, 0.0, 0.0, 1.818181818181813, 0.0, 0.0,
    1.4285714285714448, 0.0, 0.0, 1.8867924528301927, 2.0000000000000284, 0.0, 0.0,
    0.0, 2.985074626865682, 0.0, 0.0, 1.6666666666666714, 0.0, 0.0, 1.5625,
    1.9230769230769198, 0.0, 1.8518518518518619, 0.0, 2.7027027027027088, 0.0, 0.0,
    0.0, 1.3513513513513544, 0.0, 1.818181818181813, 0.0, 1.6666666666666572, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.818181818181813, 0.0, 1.4285714285714164, 0.0,
    0.0, 4.1095890410959015, 0.0, 0.0, 0.0, 1.8518518518518619, 0.0, 0.0,
    1.8518518518518476, 1.3888888888888857, 0.0, 0.0, 0.0, 0.0, 1.8867924528301785,
    1.4285714285714164, 0.0, 0.0, 1.5625, 1.8867924528301927, 0.0, 0.0, 0.0, 0.0,
    2.040816326530603, 1.818181818181813, 0.0, 0.0, 1.6393442622950687, 0.0,
    1.7241379310344769, 1.5151515151515156, 2.564102564102555, 0.0, 0.0, 0.0, 0.0,
    5.5555555555555571, 0.0, 0.0, 4.0816326530612059, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 3.5714285714285836, 0.0, 2.040816326530603, 3.1746031746031633, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
]  # fmt: skip
LARGE_CONTROL = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.5625000000000142, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.3888888888888857, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 1.5384615384615614, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.4925373134328339, 0.0, 0.0, 0.0,
    1.6949152542373014, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 1.470588235294116, 0.0, 0.0, 0.0, 0.0, 1.7543859649122879, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 1.8518518518518619, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.6393442622950687, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 1.7241379310344769, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.5873015873015817,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    1.4925373134328339, 0.0, 0.0, 0.0, 3.1249999999999858, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 1.4925373134328339, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    2.9850746268656536, 0.0, 2.5000000000000284, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    1.7857142857142776, 0.0, 0.0, 0.0,
]  # fmt: skip


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_the_spec_vector_gives_r_s_interval_and_estimate():
    result = mann_whitney(arr(10, 20, 30, 40), arr(1, 2, 3, 4), 0.95)
    assert result.lower == pytest.approx(6.0, abs=1e-6)
    assert result.upper == pytest.approx(39.0, abs=1e-6)
    assert result.estimate == pytest.approx(22.5, abs=1e-6)


@pytest.mark.parametrize(
    ("probability", "quantile"),
    [
        pytest.param(0.01, -2.326348, id="the 0.98 confidence level gives z = −2.326348"),
        pytest.param(0.025, -1.959964, id="the 0.95 confidence level gives z = −1.959964"),
    ],
)
def test_the_normal_quantile_is_scipy_s(probability, quantile):
    assert norm.ppf(probability) == pytest.approx(quantile, abs=1e-6)


# (canary, baseline, R's interval at conf.level 0.99). The level is not written in WilcoxTests;
# 0.99 is the one that reproduces R's printed figures to all seven digits.
R_INTERVALS = [
    pytest.param(
        [0.0, 20.95, 30.5666666666667, 31.4, 32.1166666666667, 31.9833333333334, 31.1833333333334,
         32.35, 33.25, 32.8000000000001, 34.5166666666667, 33.4166666666667, 35.8833333333334,
         35.0666666666667, 33.9],
        [0.0, 21.9000000000001, 30.2833333333334, 29.45, 32.1, 31.1166666666667, 33.5,
         32.1166666666667, 32.7, 33.85, 32.6833333333334, 33.5166666666667, 33.6, 34.3, 33.05],
        (-1.866663, 2.899996),
        id="WilcoxTests asymptotic case 01: a throughput series with ties at zero",
    ),
    pytest.param(
        [0, 2.31666666666667, 3.5, 3.33333333333333, 3.98333333333333, 3.61666666666667,
         3.08333333333333, 3.56666666666666, 3.86666666666666, 3.28333333333333, 3.25,
         3.26666666666667, 2.86666666666667, 3.31666666666667, 3.18333333333333],
        [0, 2.73333333333333, 3.5, 2.76666666666667, 3.26666666666666, 3.75, 3.53333333333333,
         3.21666666666667, 3.43333333333333, 3.83333333333333, 3.81666666666667, 3.6,
         3.38333333333333, 3.31666666666667, 3.63333333333333],
        (-0.5166050, 0.3832704),
        id="WilcoxTests asymptotic case 03: ties across the two samples",
    ),
    pytest.param(
        LARGE_EXPERIMENT,
        LARGE_CONTROL,
        (1.401027e-05, 1.526706e-05),
        id="WilcoxTests 'interesting use case': R's Brent lands inside a huge tie at zero",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("canary", "baseline", "interval"), R_INTERVALS)
def test_intervals_match_r_to_the_printed_digits(canary, baseline, interval):
    result = mann_whitney(np.array(canary, dtype=float), np.array(baseline, dtype=float), 0.99)
    assert (result.lower, result.upper) == pytest.approx(interval, rel=1e-6)


@pytest.mark.parametrize(
    ("x", "y"),
    [
        pytest.param(arr(10, 20, 30, 40), arr(1, 2, 3, 4), id="separated samples"),
        pytest.param(arr(1, 2, 2, 3, 5), arr(2, 2, 4, 4, 6, 7), id="ties within and across samples"),
        pytest.param(np.array(LARGE_EXPERIMENT), np.array(LARGE_CONTROL), id="mostly zeros"),
    ],
)
def test_the_p_value_is_the_continuity_corrected_normal_approximation(x, y):
    expected = mannwhitneyu(x, y, use_continuity=True, alternative="two-sided", method="asymptotic")
    assert mann_whitney(x, y, 0.95).p_value == pytest.approx(expected.pvalue, rel=1e-12)


def test_the_rank_statistic_uses_average_ranks_the_tie_correction_and_the_continuity_correction():
    # At μ = 6 the point 10 − 6 ties with the control's 4: ranks 1, 2, 3, 4.5 | 4.5, 6, 7, 8.
    dz = (4.5 + 6 + 7 + 8) - 4 * 5 / 2 - 4 * 4 / 2
    sigma = math.sqrt(16 / 12 * (9 - (2**3 - 2) / (8 * 7)))
    expected = (dz - 0.5) / sigma - 1.959964
    assert wilcoxon_difference(arr(10, 20, 30, 40), arr(1, 2, 3, 4), 6.0, 1.959964) == pytest.approx(expected)


def test_a_sample_with_every_observation_tied_is_refused():
    with pytest.raises(AllTiedError, match="all observations are tied"):
        wilcoxon_difference(arr(3, 3), arr(3, 3, 3), 0.0, 0.0)
    with pytest.raises(AllTiedError):
        mann_whitney(arr(2.0), arr(1.0), 0.95)


@pytest.mark.parametrize(
    ("f", "lower", "upper", "root"),
    [
        pytest.param(lambda v: v * v - 2.0, 0.0, 2.0, math.sqrt(2.0), id="a smooth root"),
        pytest.param(lambda v: math.cos(v) - v, -1.0, 1.0, 0.7390851332151607, id="the Dottie number"),
        pytest.param(lambda v: -1.0 if v < 0.3 else 1.0, 0.0, 1.0, 0.3, id="a jump"),
    ],
)
def test_zeroin_finds_a_root_within_its_tolerance(f, lower, upper, root):
    assert abs(zeroin(f, lower, upper) - root) <= 1e-4


def test_zeroin_returns_an_endpoint_where_the_function_is_exactly_zero():
    calls: list[float] = []

    def f(v: float) -> float:
        calls.append(v)
        return v - 1.0

    assert zeroin(f, 1.0, 5.0) == 1.0
    assert calls == [1.0, 5.0]


def test_zeroin_returns_the_last_iterate_without_error_when_out_of_iterations():
    # f(0) = −2 and f(2) = 2 are as large: no interpolation, so the one step bisects to 1.
    assert zeroin(lambda v: v * v - 2.0, 0.0, 2.0, max_iter=0) == 1.0


@pytest.mark.parametrize(
    ("experiment", "control", "expected"),
    [
        pytest.param(arr(3, 4), arr(1, 3), 0.875, id="by hand: 3.5 of 4 pairs, the tie counting half"),
        pytest.param(arr(1, 2, 3, 4, 5), arr(1, 2, 3, 4, 5), 0.5, id="Kayenta: identical samples"),
        pytest.param(
            arr(2.27776335, 2.61149434, 3.26894105, 2.91672701, 1.40656921,
                2.18292082, 3.47901292, 3.00034118, 3.02402043, 4.69912745),
            arr(25.31531073, 25.19450817, 24.6288846, 24.37991861, 26.40999244,
                25.28524759, 24.99788745, 26.13841676, 22.93604649, 24.56817832),
            0.0,
            id="Kayenta: no overlap",
        ),
        pytest.param(
            arr(22.58442682, 18.83161858, 22.34282944, 18.52177725, 19.41399147,
                21.77120485, 24.33796385, 22.16390531, 23.781802, 21.38514296,
                22.2205035, 22.06152361, 21.30313392, 21.59652134, 22.38394223,
                24.68882792, 20.58916439, 21.03137302, 22.26213957, 23.76485986,
                20.56271226, 24.56567102, 19.86055958, 22.18967677, 20.31475409,
                19.2634656, 24.60283585, 20.41729998, 20.62069798, 22.53448767),
            arr(23.15322873, 22.09179077, 26.56410603, 23.0971542, 24.26372276,
                25.6461273, 29.42730472, 22.08630097, 29.15257054, 25.8096766,
                24.62191338, 23.67398895, 23.63946085, 26.44684325, 25.76230914,
                25.41279862, 22.64005862, 24.58898152, 25.01968457, 25.03695883,
                23.79864705, 26.60180151, 25.99405034, 22.46726084, 28.31843786,
                24.30152484, 22.83713467, 21.92380184, 23.44735223, 29.15676219),
            0.12,
            id="Kayenta: a low metric",
        ),
    ],
)  # fmt: skip
def test_cles_is_the_share_of_pairs_where_the_experiment_is_higher(experiment, control, expected):
    assert cles(experiment, control) == pytest.approx(expected, abs=1e-12)


def test_cles_of_kayenta_s_high_metric():
    experiment = arr(
        29.17644856, 25.16947646, 25.88467948, 29.4900454, 27.05622757,
        26.13307864, 27.2711558, 26.69139944, 29.05412377, 26.39818697,
        26.68312641, 24.99600187, 27.99524816, 22.57278291, 23.72798196,
        25.82821505, 28.26624521, 28.02370228, 24.1792213, 26.02914828,
        25.90970275, 31.18337461, 27.44254942, 29.93347686, 26.70848069,
        28.12191913, 27.39257837, 30.17636627, 29.60240485, 30.10635388,
    )  # fmt: skip
    control = arr(
        24.69397578, 25.37120574, 25.86186148, 26.93804252, 22.72232309,
        24.15894084, 24.80842752, 26.07830794, 27.35323988, 23.25110886,
        24.65909111, 23.88299016, 21.34817847, 26.33198082, 23.39498829,
        26.6734461, 25.33769589, 23.92348759, 25.29740715, 24.21381887,
        28.1697053, 22.2271772, 27.16612837, 25.16639243, 26.85955896,
        27.13421926, 25.43350074, 26.32130314, 23.8854011, 27.86180318,
    )  # fmt: skip
    assert cles(experiment, control) == pytest.approx(0.771, abs=1e-3)
