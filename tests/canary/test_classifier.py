"""Metric classification, Kayenta's rule order and settings (canary-judge.md §2, §4, §8, §9).

S1…S4 and the expectations of §8 come from Kayenta's ``ClassifierSuite``; the further
Kayenta cases (effect sizes, CLES, critical thresholds, zero means, ties) come from the
same suite in ``kayenta-judge/src/test/scala/com/netflix/kayenta/judge/ClassifierSuite.scala``.
Kayenta's ``effectSizeThresholds = (a, b)`` is (allowedDecrease, allowedIncrease) and
``criticalThresholds = (a, b)`` is (criticalDecrease, criticalIncrease).
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np
import pytest

from canary.classifier import MetricSettings, classify
from tests.canary.test_mann_whitney import LARGE_CONTROL, LARGE_EXPERIMENT

NAN = math.nan

S1 = [
    9.776734312010946, 10.587071850477695, 7.837550638890177, 9.324332688611388, 8.377450540978442,
    8.935926439960628, 8.270766332472851, 9.748430812671693, 11.623746715547156, 9.275344267963394,
    8.153804774917152, 10.562020975754294, 13.498135575451835, 11.054419256110332,
    6.953890359005509, 12.52100834219548, 9.021635860354644, 4.923485669953166, 11.251360203607172,
    11.598449508040337, 8.435232204668182, 11.110228516867279, 10.70063380164755, 8.921277365211525,
    10.086167067942661, 11.42107515483087, 9.379234781364495, 7.798032014855259, 10.62339807275746,
    11.909642062063739,
]  # fmt: skip
S2 = [
    11.1453586774086, 9.961805988559702, 7.068574306369829, 7.301266181048366, 9.794463026565673,
    9.60379186036873, 6.186779335033939, 12.345599159550174, 10.371891733859533, 8.609430078501672,
    9.913162673361084, 10.361375299003466, 14.206800387518818, 10.9461537547533, 10.215876627044048,
    11.739760899484603, 10.907627468626439, 12.823353694464775, 8.101860977173214,
    8.498161640880493, 12.113441374697231, 13.272210809932028, 10.114579381663297,
    6.946395876797807, 6.210527854172778, 10.160401684903775, 8.345771206645546, 8.383822063895833,
    7.0020205070083765, 10.755757401808442,
]  # fmt: skip
S3 = [
    20.878412601720026, 21.78550581191622, 19.70828084717019, 15.859946903461562, 19.51005877217684,
    19.392005525270303, 22.9265283149121, 17.156530276709894, 18.65511791622617, 23.422607911610392,
    24.055817684156644, 22.62689958516501, 21.979472967817678, 21.659318607218694,
    20.067707574072426, 22.119570836305414, 16.44037132663307, 21.55962282634127, 21.00018144348922,
    17.779369411412663, 17.806006358943584, 18.53720061838611, 20.555550300210797,
    19.552928184468378, 21.771118944087092, 21.809622806176627, 20.96176290990527,
    20.97757157750302, 19.106303205498794, 16.97691896698708,
]  # fmt: skip
S4 = [
    20.758113589510348, 22.80205962946456, 20.61234036349221, 20.973274654749986,
    23.469237330498622, 21.53133988954805, 21.767353687439805, 18.3080507303743, 19.062145167827566,
    25.87949843600178, 18.98262972633613, 19.387920182269266, 18.995398251246982,
    24.228420230932805, 20.050985172694688, 18.2340451091756, 17.870515494460435, 23.05810386380662,
    18.400259567501134, 16.971352091177167, 19.46752906605215, 17.90465423342031, 17.55394861782583,
    16.104611843907193, 24.38171081433039, 15.919294339922635, 20.479409626304697,
    19.08307201492406, 17.455788050722866, 18.853826823235142,
]  # fmt: skip

# Kayenta's CLES cases (tolerance 0.20, confidence 0.98).
CLES_PASS_EXPERIMENT = [
    0.00000000e+00, 0.00000000e+00, 1.46580998e-04, 0.00000000e+00,
    0.00000000e+00, 0.00000000e+00, 7.94701987e-05, 0.00000000e+00,
    0.00000000e+00, 0.00000000e+00, 2.68889486e-05, 0.00000000e+00,
    0.00000000e+00, 2.64935753e-05, 0.00000000e+00, 0.00000000e+00,
    0.00000000e+00, 2.61608895e-05, 1.27824931e-04, 0.00000000e+00,
    0.00000000e+00, 0.00000000e+00, 2.54511211e-05, 2.58665287e-05,
    7.63339355e-05, 0.00000000e+00, 2.54239443e-05, 0.00000000e+00,
    0.00000000e+00, 0.00000000e+00, 2.61001201e-05, 5.20101940e-05,
    0.00000000e+00, 2.64452319e-05, 5.27551370e-05, 7.83719533e-05,
    5.19467027e-05, 2.58344528e-05, 2.58899676e-05, 0.00000000e+00,
    2.59497613e-05, 2.57938043e-05, 7.78553448e-05, 2.60593110e-05,
    2.61001201e-05, 0.00000000e+00, 0.00000000e+00, 2.59349551e-05,
    2.60559160e-05, 0.00000000e+00, 0.00000000e+00, 0.00000000e+00,
    0.00000000e+00, 0.00000000e+00, 0.00000000e+00, 2.58819267e-05,
    0.00000000e+00, 2.58825965e-05, 2.57572635e-05, 2.56877906e-05,
]  # fmt: skip
CLES_PASS_CONTROL = [
    0.00000000e+00, 0.00000000e+00, 0.00000000e+00, 0.00000000e+00,
    0.00000000e+00, 0.00000000e+00, 0.00000000e+00, 0.00000000e+00,
    2.91528191e-05, 0.00000000e+00, 0.00000000e+00, 0.00000000e+00,
    2.98284862e-05, 5.99916012e-05, 0.00000000e+00, 5.92276712e-05,
    0.00000000e+00, 2.98053709e-05, 0.00000000e+00, 2.97309350e-05,
    5.92153960e-05, 0.00000000e+00, 0.00000000e+00, 0.00000000e+00,
    2.92800047e-05, 0.00000000e+00, 2.94550810e-05, 0.00000000e+00,
    0.00000000e+00, 0.00000000e+00, 5.83958656e-05, 0.00000000e+00,
    0.00000000e+00, 0.00000000e+00, 0.00000000e+00, 0.00000000e+00,
    0.00000000e+00, 0.00000000e+00, 0.00000000e+00, 0.00000000e+00,
    2.88600289e-05, 2.90334756e-05, 2.91740817e-05, 0.00000000e+00,
    0.00000000e+00, 0.00000000e+00, 0.00000000e+00, 0.00000000e+00,
    0.00000000e+00, 2.92765758e-05, 0.00000000e+00, 0.00000000e+00,
    0.00000000e+00, 0.00000000e+00, 0.00000000e+00, 2.94637596e-05,
    5.89136326e-05, 0.00000000e+00, 0.00000000e+00, 0.00000000e+00,
]  # fmt: skip
CLES_HIGH_EXPERIMENT = [
    0.00689808, 0.00568664, 0.00680876, 0.00642045, 0.00561825,
    0.00472294, 0.00398378, 0.00392403, 0.00421201, 0.0047529,
    0.00460853, 0.00439888, 0.00561875, 0.01998866, 0.0124369,
    0.00624391, 0.00444361, 0.00442059, 0.00372095, 0.00540736,
    0.00715402, 0.00425974, 0.00414409, 0.01172436, 0.0125959,
    0.00371891, 0.00429855, 0.00369876, 0.00325709, 0.00415943,
    0.00371754, 0.00445212, 0.00521721, 0.00443938, 0.00380859,
    0.01602997, 0.00788885, 0.0038155, 0.00326921, 0.00336928,
    0.00365917, 0.00333869, 0.00427639, 0.00355911, 0.00381224,
    0.00360057, 0.00349305, 0.00401164, 0.00351947, 0.00356299,
    0.003407, 0.00414397, 0.00393346, 0.00413318, 0.00359041,
    0.00366314, 0.00309383, 0.00383733, 0.00363324, 0.00280674,
]  # fmt: skip
CLES_HIGH_CONTROL = [
    0.00081956, 0.00239282, 0.00133685, 0.00094917, 0.00029518,
    0.00035344, 0.00048194, 0.00034893, 0.0003202, 0.00079814,
    0.00090881, 0.00072599, 0.00037819, 0.00038286, 0.00057604,
    0.00064821, 0.00032194, 0.0002245, 0.00025202, 0.00071997,
    0.00022721, 0.00042578, 0.00042496, 0.00045613, 0.00037072,
    0.0003317, 0.00032889, 0.00032749, 0.00036093, 0.00029285,
    0.00038401, 0.00044467, 0.00071086, 0.00036692, 0.00052079,
    0.00074974, 0.00128791, 0.00062046, 0.00086345, 0.00118563,
    0.00103379, 0.00028913, 0.00057628, 0.00057943, 0.00048735,
    0.00029409, 0.0002005, 0.00016612, 0.00089312, 0.00059367,
    0.00061706, 0.00163313, 0.00097784, 0.00029305, 0.00058839,
    0.00085212, 0.00048298, 0.00035546, 0.00025866, 0.00038767,
]  # fmt: skip
CLES_LOW_EXPERIMENT = [
    24.24693907, 26.13330099, 22.50056744, 24.36646841, 23.19935673,
    19.43801304, 20.99654102, 18.90793651, 21.31949881, 21.83528381,
    21.64211206, 23.13365968, 21.09163134, 19.45540615, 20.74783158,
    22.25527831, 19.82051791, 20.9865487, 19.94450026, 23.2904056,
    18.18408424, 22.13843542, 19.42896044, 19.84140464, 23.91557662,
    21.00981557, 21.8594633, 23.11630163, 22.95700392, 17.80045135,
]  # fmt: skip
CLES_LOW_CONTROL = [
    25.09626848, 26.15032198, 24.88431438, 24.18870163, 22.14684987,
    28.01743443, 21.29910501, 27.24688773, 28.64187535, 27.03504445,
    24.67888311, 22.35137878, 27.41640397, 26.00225548, 23.02118534,
    25.99647292, 22.77446912, 25.56704719, 25.57025827, 21.2721602,
    23.12987357, 24.59111604, 27.48865016, 27.21967755, 23.5951111,
    22.5429607, 25.83015564, 23.31965305, 24.3911644, 25.11468194,
]  # fmt: skip
ZERO_MEAN_CRITICAL_EXPERIMENT = [
    0.05000000074505806, 0.05000000074505806, 0.01666666753590107,
    0.01666666753590107, 0.01666666753590107, 0.05000000074505806,
    0.03333333507180214, 0.05000000260770321, 0.05000000260770321,
    0.13333333656191826,
]  # fmt: skip

HIGH_FIVE = [20.0, 22.0, 21.0, 25.0, 30.0]
LOW_FIVE = [1.0, 2.2, 1.1, 2.5, 3.0]


def arr(values: list[float]) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def effect(decrease: float, increase: float) -> dict[str, float]:
    """Kayenta's ``effectSizeThresholds = (decrease, increase)``."""
    return {"allowed_decrease": decrease, "allowed_increase": increase}


def critical_at(decrease: float, increase: float) -> dict[str, Any]:
    """Kayenta's ``criticalThresholds = (decrease, increase)`` on a critical metric."""
    return {"critical": True, "critical_decrease": decrease, "critical_increase": increase}


def judge(experiment, control, tolerance=0.10, confidence=0.95, name="metric", **settings):
    return classify(
        name,
        arr(control),
        arr(experiment),
        MetricSettings(**settings),
        tolerance=tolerance,
        confidence=confidence,
    )


# (experiment, control, settings, tolerance, confidence, classification, critical)
KAYENTA_CASES = [
    pytest.param(S1, S2, {}, 0.10, 0.95, "Pass", False, id="§8: S1 against S2 passes"),
    pytest.param(S3, S2, {}, 0.10, 0.95, "High", False, id="§8: S3 against S2 is high"),
    pytest.param(S1, S4, {}, 0.10, 0.95, "Low", False, id="§8: S1 against S4 is low"),
    pytest.param(
        S1, S4, {"direction": "increase"}, 0.10, 0.95, "Pass", False,
        id="§8: a low metric passes when only an increase matters",
    ),
    pytest.param(
        S3, S2, {"direction": "decrease"}, 0.10, 0.95, "Pass", False,
        id="§8: a high metric passes when only a decrease matters",
    ),
    pytest.param(
        S3, S2, {"direction": "increase"}, 0.10, 0.95, "High", False,
        id="Kayenta: a high metric is high when an increase matters",
    ),
    pytest.param(
        S1, S4, {"direction": "decrease"}, 0.10, 0.95, "Low", False,
        id="Kayenta: a low metric is low when a decrease matters",
    ),
    pytest.param(
        [1.0, 1.0, 1.0], [1.0, 1.0], {"direction": "decrease"}, 0.10, 0.95, "Pass", False,
        id="§8: one tied value on both sides passes",
    ),
    pytest.param(
        [0.0, 1.0, 1.0, 1.0, 1.0], [1.0] * 5, {"direction": "decrease"}, 0.10, 0.95, "Pass", False,
        id="Kayenta: a leading zero against a constant passes",
    ),
    pytest.param(
        [1.0, 1.0, 1.0, 1.0, 10.0], [1.0] * 5, {}, 0.10, 0.95, "Pass", False,
        id="Kayenta: mostly tied observations pass",
    ),
    pytest.param(
        [10.0] * 5, [1.0] * 5, {}, 0.10, 0.95, "High", False,
        id="Kayenta: two different constants are told apart through the noise",
    ),
    pytest.param(
        [10.0] * 5, [0.0] * 5, {}, 0.10, 0.95, "High", False,
        id="Kayenta: a constant against constant zeros is high",
    ),
    pytest.param(
        [], [1.0, 2.0, 3.0, 4.0, 5.0], {"direction": "decrease"}, 0.10, 0.95, "Nodata", False,
        id="§8: missing experiment data is Nodata under remove",
    ),
    pytest.param(
        [], [1.0, 2.0, 3.0, 4.0, 5.0], {"direction": "decrease", "nan_strategy": "replace"}, 0.10, 0.95,
        "Pass", False,
        id="§8: missing experiment data passes under replace",
    ),
    pytest.param(
        [], [1.0, 2.0, 3.0, 4.0, 5.0], {"direction": "decrease", "critical": True}, 0.10, 0.95,
        "Nodata", True,
        id="Kayenta: missing data on a critical metric is critical Nodata",
    ),
    pytest.param(
        LARGE_EXPERIMENT, LARGE_CONTROL, {}, 0.10, 0.95, "High", False,
        id="Kayenta: a sparse error rate that rose fourfold is high",
    ),
    pytest.param(
        HIGH_FIVE, LOW_FIVE, effect(0.8, 1.2), 0.10, 0.95, "High", False,
        id="Kayenta: a ratio of 12 clears an allowed increase of 1.2",
    ),
    pytest.param(
        S1, S4, {"direction": "decrease", **effect(0.8, 1.2)}, 0.10, 0.95, "Low", False,
        id="Kayenta: a ratio of 0.5 clears an allowed decrease of 0.8",
    ),
    pytest.param(
        [10.0, 12.2, 10.1, 12.5, 23.0], HIGH_FIVE, effect(0.5, 1.0), 0.10, 0.95, "Pass", False,
        id="Kayenta: a drop to a ratio of 0.57 that is not significant passes",
    ),
    pytest.param(
        LARGE_EXPERIMENT, LARGE_CONTROL, effect(1.0, 5.0), 0.10, 0.95, "Pass", False,
        id="Kayenta: a significant rise to a ratio of 4.4 is within an allowed increase of 5",
    ),
    pytest.param(
        CLES_PASS_EXPERIMENT, CLES_PASS_CONTROL, {"effect_measure": "cles", **effect(0.5, 0.8)}, 0.20, 0.98,
        "Pass", False,
        id="Kayenta: a significant rise with a CLES below 0.8 passes",
    ),
    pytest.param(
        CLES_HIGH_EXPERIMENT, CLES_HIGH_CONTROL, {"effect_measure": "cles", **effect(0.2, 0.8)}, 0.20, 0.98,
        "High", False,
        id="Kayenta: CLES above 0.8 is high",
    ),
    pytest.param(
        CLES_LOW_EXPERIMENT, CLES_LOW_CONTROL, {"effect_measure": "cles", **effect(0.2, 0.8)}, 0.20, 0.98,
        "Low", False,
        id="Kayenta: CLES below 0.2 is low",
    ),
    pytest.param(
        HIGH_FIVE, LOW_FIVE, critical_at(1.0, 1.2), 0.10, 0.95, "High", True,
        id="Kayenta: a critical metric above its critical increase is critical",
    ),
    pytest.param(
        [2.0, 2.0, 2.0, 2.0, 3.0], [10.0, 20.2, 10.1, 20.5, 30.0], critical_at(1.2, 1.0), 0.10, 0.95,
        "Low", True,
        id="Kayenta: a critical metric below its critical decrease is critical",
    ),
    pytest.param(
        HIGH_FIVE, LOW_FIVE, {**effect(1.0, 5.0), **critical_at(1.0, 13.0)}, 0.10, 0.95, "High", False,
        id="Kayenta: a high critical metric short of its critical increase is not critical",
    ),
    pytest.param(
        HIGH_FIVE, LOW_FIVE, {**effect(1.0, 13.0), **critical_at(1.0, 15.0)}, 0.10, 0.95, "Pass", False,
        id="Kayenta: a critical metric within its allowed increase passes",
    ),
    pytest.param(
        HIGH_FIVE, LOW_FIVE, {"critical": True}, 0.10, 0.95, "High", True,
        id="Kayenta: a high critical metric is critical under the default thresholds",
    ),
    pytest.param(
        [54.9, 54.5, 55.1, 55.6, 57.4], [0.0] * 5, effect(0.8, 1.2), 0.10, 0.95, "High", False,
        id="Kayenta: against a zero mean the undefined ratio does not veto High",
    ),
    pytest.param(
        [0.0] * 5, [54.9, 54.5, 55.1, 55.6, 57.4], effect(0.8, 1.2), 0.10, 0.95, "Low", False,
        id="Kayenta: a zero experiment mean does not veto Low",
    ),
    pytest.param(
        ZERO_MEAN_CRITICAL_EXPERIMENT, [0.0] * 10, {"nan_strategy": "replace", **critical_at(0.8, 1.2)},
        0.10, 0.95, "High", True,
        id="Kayenta: an undefined ratio makes a high critical metric critical",
    ),
    pytest.param(
        [0.0] * 5, [0.0] * 5, effect(0.8, 1.2), 0.10, 0.95, "Pass", False,
        id="Kayenta: zeros on both sides pass",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("experiment", "control", "settings", "tolerance", "confidence", "classification", "critical"),
    KAYENTA_CASES,
)
def test_kayenta_classifier_vectors(
    experiment, control, settings, tolerance, confidence, classification, critical
):
    found = judge(experiment, control, tolerance, confidence, **settings)
    assert (found.classification, found.critical) == (classification, critical), found


@pytest.mark.parametrize(
    ("experiment", "control", "settings", "classification", "reason", "critical", "ratio"),
    [
        pytest.param(
            [1.0, 2.0, 3.0, 4.0, 5.0], [5.0, 4.0, 3.0, 2.0, 1.0], {"direction": "decrease"},
            "Pass", "The Canary and Baseline data are identical", False, 1.0,
            id="§8: the same values in another order are identical",
        ),
        pytest.param(
            [], [1.0, 2.0], {}, "Nodata", "Missing data for metric", False, 1.0,
            id="missing data names the metric",
        ),
        pytest.param(
            [], [], {"critical": True}, "Nodata", "Missing data for metric", True, 1.0,
            id="Kayenta: no data on either side still gives a reason",
        ),
        pytest.param(
            [NAN, NAN], [1.0, 2.0], {"must_have_data": True}, "NodataFailMetric", "Missing data for metric",
            False, 1.0,
            id="mustHaveData on a non-critical metric fails the metric",
        ),
        pytest.param(
            [NAN, NAN], [1.0, 2.0], {"must_have_data": True, "critical": True}, "Nodata",
            "Missing data for metric", True, 1.0,
            id="mustHaveData on a critical metric stays critical Nodata",
        ),
        pytest.param(
            [3.0, 3.0], [3.0], {}, "Pass", None, False, 1.0,
            id="a single value across both sides passes without a reason",
        ),
        pytest.param(
            S3, S2, {}, "High", "metric was classified as High", False, pytest.approx(2.0, abs=0.1),
            id="a high metric says so",
        ),
        pytest.param(
            S1, S4, {"critical": True}, "Low", "The metric metric was classified as Low (Critical)", True,
            pytest.approx(0.5, abs=0.05),
            id="a critical low metric says it is critical",
        ),
        pytest.param(
            [2.0], [1.0], {"critical": True}, "Error", "Metric Classification Failed", False, None,
            id="two single different points tie completely: an error, never critical",
        ),
        pytest.param(
            [5.0], [0.0, 0.0], {}, "Error", "Metric Classification Failed", False, None,
            id="a point against zeros ties completely at the lowest shift",
        ),
    ],
)  # fmt: skip
def test_reasons_criticality_and_ratio(
    experiment, control, settings, classification, reason, critical, ratio
):
    found = judge(experiment, control, **settings)
    assert (found.classification, found.reason, found.critical) == (classification, reason, critical)
    assert found.result_metadata["ratio"] == ratio


def test_the_mann_whitney_figures_are_reported_with_the_verdict():
    found = judge([10.0, 20.0, 30.0, 40.0], [1.0, 2.0, 3.0, 4.0])
    assert found.result_metadata == {
        "ratio": 10.0,
        "lower": pytest.approx(6.0, abs=1e-6),
        "upper": pytest.approx(39.0, abs=1e-6),
        "estimate": pytest.approx(22.5, abs=1e-6),
        "p_value": pytest.approx(0.030382821976577, rel=1e-9),
        "tolerance": 0.10,
        "confidence": 0.95,
    }


def test_an_undefined_ratio_is_reported_as_none():
    found = judge([54.9, 54.5, 55.1, 55.6, 57.4], [0.0] * 5)
    assert found.result_metadata["ratio"] is None
    assert found.result_metadata["lower"] is not None


def test_statistics_describe_the_preprocessed_sides():
    found = judge(
        [NAN, 2.0, 4.0], [1.0, 1.0, 1.0, 1.0, 1.0, 20.0, 1.0, 1.0, 1.0, 1.0, 1.0], outlier_strategy="remove"
    )
    assert found.experiment_stats == {
        "min": 2.0,
        "max": 4.0,
        "mean": 3.0,
        "std": pytest.approx(math.sqrt(2)),
        "count": 2,
    }
    # R-7's 99th percentile is 18.1 here, so the 20 goes.
    assert found.control_stats == {"min": 1.0, "max": 1.0, "mean": 1.0, "std": 0.0, "count": 10}


def test_the_noise_path_is_reproducible_for_a_metric_name():
    first = judge([10.0] * 60, [9.0] * 60, name="p99 latency")
    again = judge([10.0] * 60, [9.0] * 60, name="p99 latency")
    other = judge([10.0] * 60, [9.0] * 60, name="error rate")
    assert first == again
    assert first.result_metadata != other.result_metadata
    assert first.classification == other.classification == "High"


def test_the_default_generator_is_seeded_with_the_crc_of_the_name():
    settings = MetricSettings()
    seeded = np.random.default_rng(zlib.crc32(b"cpu"))
    explicit = classify("cpu", arr([1.0] * 5), arr([2.0] * 5), settings, rng=seeded)
    implicit = classify("cpu", arr([1.0] * 5), arr([2.0] * 5), settings)
    assert explicit == implicit
    reseeded = classify("cpu", arr([1.0] * 5), arr([2.0] * 5), settings, rng=np.random.default_rng(7))
    assert reseeded.result_metadata != implicit.result_metadata


@pytest.mark.parametrize(
    ("experiment", "control", "warnings"),
    [
        pytest.param(
            S1, S2, ("the control has 30 points after preprocessing, fewer than 50",), id="a short control",
        ),
        pytest.param(
            [1.0] * 60, [NAN] * 60,
            ("the control values are all NaN", "the control has 0 points after preprocessing, fewer than 50"),
            id="an all-NaN control, which also leaves no points",
        ),
        pytest.param(
            [NAN] * 3, [1.0] * 50, ("the experiment values are all NaN",), id="an all-NaN experiment",
        ),
        pytest.param([], [1.0] * 50, (), id="an empty experiment is not all NaN"),
        pytest.param([1.0] * 50, [1.0] * 50, (), id="fifty control points are enough"),
    ],
)  # fmt: skip
def test_warnings(experiment, control, warnings):
    found = judge(experiment, control)
    assert len(found.warnings) == len(warnings)
    for text, start in zip(found.warnings, warnings, strict=True):
        assert text.startswith(start)


def test_an_error_can_be_marked_as_failing_the_canary():
    settings = MetricSettings()
    failing = classify("m", arr([1.0]), arr([2.0]), settings, fail_on_error=True)
    lenient = classify("m", arr([1.0]), arr([2.0]), settings)
    assert (failing.classification, failing.error_fails) == ("Error", True)
    assert (lenient.classification, lenient.error_fails) == ("Error", False)
    assert not classify("m", arr(S2), arr(S3), settings, fail_on_error=True).error_fails


def test_defaults_are_kayenta_s():
    assert MetricSettings.from_kayenta({}) == MetricSettings(
        direction="either",
        nan_strategy="remove",
        outlier_strategy="keep",
        outlier_factor=3.0,
        critical=False,
        must_have_data=False,
        muted=False,
        effect_measure="meanRatio",
        allowed_increase=1.0,
        allowed_decrease=1.0,
        critical_increase=1.0,
        critical_decrease=1.0,
    )


def test_cles_thresholds_default_to_one_half():
    settings = MetricSettings.from_kayenta({"effectSize": {"measure": "cles", "allowedIncrease": 0.7}})
    assert (settings.allowed_increase, settings.allowed_decrease) == (0.7, 0.5)
    assert (settings.critical_increase, settings.critical_decrease) == (0.5, 0.5)
    assert MetricSettings(effect_measure="cles").allowed_increase == 0.5


def test_every_key_is_read():
    settings = MetricSettings.from_kayenta(
        {
            "direction": "increase",
            "nanStrategy": "replace",
            "outliers": {"strategy": "remove", "outlierFactor": 1.5},
            "critical": True,
            "mustHaveData": True,
            "muted": True,
            "effectSize": {
                "measure": "meanRatio",
                "allowedIncrease": 1.1,
                "allowedDecrease": 0.9,
                "criticalIncrease": 2,
                "criticalDecrease": 0.5,
            },
        }
    )
    assert settings == MetricSettings(
        direction="increase",
        nan_strategy="replace",
        outlier_strategy="remove",
        outlier_factor=1.5,
        critical=True,
        must_have_data=True,
        muted=True,
        allowed_increase=1.1,
        allowed_decrease=0.9,
        critical_increase=2.0,
        critical_decrease=0.5,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            {"direction": "sideways"}, "either", id="an unknown direction means either, as in Kayenta"
        ),
        pytest.param({"direction": None}, "either", id="a null direction is absent"),
        pytest.param({"direction": "decrease"}, "decrease", id="decrease"),
    ],
)
def test_direction(raw, expected):
    assert MetricSettings.from_kayenta(raw).direction == expected


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        pytest.param({"direction": 7}, "direction", id="a direction that is not a string"),
        pytest.param({"nanStrategy": "drop"}, "nanStrategy", id="an unknown NaN strategy"),
        pytest.param({"nanStrategy": True}, "nanStrategy", id="a NaN strategy that is not a string"),
        pytest.param({"outliers": "remove"}, "outliers", id="outliers that are not an object"),
        pytest.param(
            {"outliers": {"strategy": "trim"}}, "outliers.strategy", id="an unknown outlier strategy"
        ),
        pytest.param(
            {"outliers": {"outlierFactor": "3"}}, "outliers.outlierFactor", id="a factor as a string"
        ),
        pytest.param({"outliers": {"outlierFactor": 0}}, "outliers.outlierFactor", id="a zero factor"),
        pytest.param({"outliers": {"outlierFactor": -1.5}}, "outliers.outlierFactor", id="a negative factor"),
        pytest.param({"critical": "yes"}, "critical", id="critical that is not a boolean"),
        pytest.param({"mustHaveData": 1}, "mustHaveData", id="mustHaveData as a number"),
        pytest.param({"muted": "false"}, "muted", id="muted as a string"),
        pytest.param({"effectSize": [1.0]}, "effectSize", id="an effect size that is not an object"),
        pytest.param({"effectSize": {"measure": "cohenD"}}, "effectSize.measure", id="an unknown measure"),
        pytest.param(
            {"effectSize": {"allowedIncrease": "1.2"}},
            "effectSize.allowedIncrease",
            id="a threshold as a string",
        ),
        pytest.param(
            {"effectSize": {"allowedDecrease": True}},
            "effectSize.allowedDecrease",
            id="a threshold as a boolean",
        ),
        pytest.param(
            {"effectSize": {"criticalIncrease": math.inf}},
            "effectSize.criticalIncrease",
            id="an infinite threshold",
        ),
        pytest.param(
            {"effectSize": {"criticalDecrease": NAN}}, "effectSize.criticalDecrease", id="a NaN threshold"
        ),
    ],
)
def test_bad_values_are_refused_naming_the_key(raw, key):
    with pytest.raises(ValueError, match=rf"^{key}: "):
        MetricSettings.from_kayenta(raw)
