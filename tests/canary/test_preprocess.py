"""NaN handling, IQR outlier fences and reported statistics (canary-judge.md §3).

Besides hand-computed cases, vectors from Kayenta's ``TransformSuite``, ``DetectorSuite``
and ``StatisticSuite``. Kayenta ran its detector vectors with plain Tukey fences
(``reduceSensitivity = false``); the judge always uses the reduced-sensitivity fences
and gives the same answer on each of them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from canary.preprocess import handle_nans, outlier_fences, percentile, preprocess, remove_outliers, summary

NAN = math.nan

NIST = [
    30, 171, 184, 201, 212, 250, 265, 270, 272, 289, 305, 306, 322, 322, 336, 346,
    351, 370, 390, 404, 409, 411, 436, 437, 439, 441, 444, 448, 451, 453, 470, 480,
    482, 487, 494, 495, 499, 503, 514, 521, 522, 527, 548, 550, 559, 560, 570, 572,
    574, 578, 585, 592, 592, 607, 616, 618, 621, 629, 637, 638, 640, 656, 668, 707,
    709, 719, 737, 739, 752, 758, 766, 792, 792, 794, 802, 818, 830, 832, 843, 858,
    860, 869, 918, 925, 953, 991, 1000, 1005, 1068, 1441,
]  # fmt: skip


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


@pytest.mark.parametrize(
    ("values", "strategy", "expected"),
    [
        pytest.param(arr(0, 1, NAN, 1, 0), "remove", [0, 1, 1, 0], id="Kayenta: a single NaN is removed"),
        pytest.param(arr(NAN, NAN, NAN), "remove", [], id="Kayenta: only NaNs leave nothing"),
        pytest.param(arr(NAN, 2, NAN), "replace", [0, 2, 0], id="replace turns each NaN into zero"),
        pytest.param(arr(), "replace", [], id="an empty series stays empty"),
    ],
)
def test_nans_are_removed_or_replaced(values, strategy, expected):
    assert handle_nans(values, strategy).tolist() == expected


def test_an_unknown_nan_strategy_is_refused():
    with pytest.raises(ValueError, match="NaN strategy"):
        handle_nans(arr(1), "drop")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "factor", "fences"),
    [
        pytest.param(
            arr(1, 2, 3, 4, 5, 6, 7, 8, 9, 100),
            1.5,
            (-3.5, 91.81),
            # Q1 = 3.25, Q3 = 7.75, IQR = 4.5: Tukey gives (−3.5, 14.5); P1 = 1.09, P99 = 9 + 0.91·91.
            id="by hand: Tukey's lower fence and the 99th percentile as upper fence",
        ),
        pytest.param(
            arr(1, 1, 1, 1, 1, 20, 1, 1, 1, 1, 1),
            3.0,
            (1.0, 18.1),
            # IQR = 0; P1 = 1, P99 = 1 + 0.9·19 by R-7 (Kayenta's old legacy percentile gave 20).
            id="by hand: a zero IQR leaves only the percentiles",
        ),
        pytest.param(
            arr(21, 23, 24, 25, 50, 29, 23, 21),
            1.5,
            (17.25, 48.53),
            id="Kayenta TransformSuite: Q1 − 1.5·IQR below, P99 above",
        ),
    ],
)
def test_fences_are_the_wider_of_tukey_s_and_the_1st_and_99th_percentiles(values, factor, fences):
    assert outlier_fences(values, factor) == pytest.approx(fences)


@pytest.mark.parametrize(
    ("values", "factor", "kept"),
    [
        pytest.param(
            arr(21, 23, 24, 25, 50, 29, 23, 21),
            1.5,
            [21, 23, 24, 25, 29, 23, 21],
            id="Kayenta: one high outlier",
        ),
        pytest.param(
            arr(1, 1, 1, 5, -1, -1, -1, -5),
            1.5,
            [1, 1, 1, -1, -1, -1],
            id="Kayenta: one outlier on each side",
        ),
        pytest.param(np.array(NIST, dtype=float), 1.5, NIST[:-1], id="Kayenta: NIST data, only 1441 goes"),
        pytest.param(arr(1, 2, 3, 4, 5, 6, 7, 8, 9, 100), 1.5, list(range(1, 10)), id="by hand: 100 > 91.81"),
        pytest.param(arr(1, 2, 3, 4, 5, 6, 7, 8, 9, 100), 3.0, list(range(1, 10)), id="a larger factor"),
        pytest.param(arr(4, 4, 4), 3.0, [4, 4, 4], id="a point on a fence stays"),
        pytest.param(arr(), 3.0, [], id="Kayenta: empty data"),
    ],
)
def test_points_strictly_outside_the_fences_are_removed(values, factor, kept):
    assert remove_outliers(values, factor).tolist() == kept


def test_outliers_go_only_when_asked_and_after_the_nans():
    values = arr(1, 2, 3, 4, 5, 6, 7, 8, 9, 100, NAN)
    assert preprocess(values).tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 100]
    assert preprocess(values, "remove", "remove", 1.5).tolist() == list(range(1, 10))
    assert preprocess(values, "replace", "keep").tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 0]


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        pytest.param(arr(0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5), 5, 0.175, id="between the first two points"),
        pytest.param(arr(0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5), 50, 1.75, id="the median of an even count"),
        pytest.param(arr(0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5), 100, 3.5, id="the maximum"),
        pytest.param(arr(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), 50, 4.5, id="linear interpolation"),
        pytest.param(
            arr(95.1772, 95.1567, 95.1937, 95.1959, 95.1442, 95.0610,
                95.1591, 95.1195, 95.1772, 95.0925, 95.1990, 95.1682),
            90,
            95.19568,
            id="NIST data",
        ),
        pytest.param(arr(1), 100, 1.0, id="a single point"),
    ],
)  # fmt: skip
def test_percentiles_are_r_7_as_in_kayenta_s_statistic_suite(values, p, expected):
    assert percentile(values, p) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(arr(4), {"min": 4, "max": 4, "mean": 4, "std": 0, "count": 1}, id="Kayenta: a scalar"),
        pytest.param(arr(), {"min": 0, "max": 0, "mean": 0, "std": 0, "count": 0}, id="Kayenta: no data"),
        pytest.param(
            arr(1, 1, 1, 10, 10, 10),
            {"min": 1, "max": 10, "mean": 5.5, "std": pytest.approx(4.9295, abs=1e-4), "count": 6},
            id="Kayenta: a list, sample standard deviation",
        ),
        pytest.param(
            arr(2, 4, 4, 4, 5, 5, 7, 9),
            {"min": 2, "max": 9, "mean": 5, "std": pytest.approx(math.sqrt(32 / 7)), "count": 8},
            id="by hand: n − 1 in the variance",
        ),
    ],
)
def test_summary_statistics(values, expected):
    assert summary(values).as_dict() == expected
