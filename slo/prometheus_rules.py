"""Sloth-compatible Prometheus recording and alerting rules for one SLO (slo.md §2, §4).

``export_rules(slo)`` returns a rules file (YAML text) laid out as ``sloth generate``
v0.11 writes it, so Sloth's Grafana dashboards and habits work unchanged: groups
``sloth-slo-sli-recordings-<id>``, ``sloth-slo-meta-recordings-<id>`` and
``sloth-slo-alerts-<id>`` (id ``<service>-<slo name>``), rules ``slo:sli_error:ratio_rate<w>``
for every window of the SLO's tiers and for the period, the ``slo:…`` metadata and
``sloth_slo_info``, labels ``sloth_id``, ``sloth_service``, ``sloth_slo`` and ``sloth_window``.
The SLI's PromQL comes from :mod:`slo.atlas_promql` (see there for how Atlas queries map to
Prometheus names, and the ``nf.*`` → ``nf_*`` relabelling the rules assume).

Where Watchfloor differs from Sloth, or cannot be expressed, the choice made:

- Tiers are data (``slo.windows``, else the defaults scaled to the period): one alert per
  severity, OR over that severity's pairs of (short > threshold × budget AND long > …), each
  window as ``max(…) without (sloth_window)``. Every severity's alert has the SLO's name
  (``PlaybackStartAvailabilityBurnRate``) and labels ``sloth_severity`` and ``watchfloor_slo``;
  no ``for:``, as in Sloth. Numbers are printed with ``repr``: the thresholds are exactly
  Watchfloor's own.
- ``minEvents`` becomes one more condition per pair, ``and on () ((total at the long window)
  × seconds >= minEvents)``: the total query is a per-second rate, so this is the event count
  ``sum(increase(total[long]))``. No condition is added when ``minEvents`` is 0.
- ``Occurrences``: the period SLI counts events over the whole period (the error ratio with
  ``[30d]`` ranges), where Sloth averages 5-minute ratios (slo.md §4). ``RatioTimeslices``:
  Sloth's time-weighted mean, over the objective's ``timeSliceWindow`` (else the shortest short
  window). ``Timeslices`` (good slices / all slices) is refused: no Sloth rule expresses it.
- Refused, each as a :class:`~slo.problems.Problem` at its OpenSLO field path: composite SLOs
  (``spec.watchfloor.composite``), ``thresholdMetric`` SLIs (Sloth has event ratios only),
  more than one objective (``spec.objectives``: Sloth has one objective per SLO, and silently
  alerting on only the first would leave the others unwatched; split the SLO), no window pairs,
  and metric sources without a PromQL form (``…metricSource.spec.query``). Paths name the
  inline indicator; for an ``indicatorRef`` they are the same fields of the SLI document.
- Exported with a comment at the top of the file, because Prometheus has no equivalent:
  calendar periods are evaluated as rolling ones of the same length (``1M`` → ``30d``), and
  maintenance exclusions are not applied (silence the alerts in Alertmanager instead). The
  no-data state has no rule: Sloth has none to be compatible with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import yaml

from slo.atlas_promql import Untranslatable, error_ratio, render, source_template
from slo.burn import default_windows, error_budget
from slo.durations import rolling_timedelta
from slo.model import SLO, WindowPair
from slo.problems import Problem, ValidationError
from store.backends.promql_text import duration

__all__ = ["export_rules"]

_RATIO_PATH = "spec.indicator.spec.ratioMetric"
_WINDOW_LABEL = "sloth_window"
# Sloth's info labels, saying where the rules came from (Sloth also writes its sloth_version).
_INFO_LABELS = {"sloth_mode": "watchfloor-export", "sloth_spec": "openslo/v1"}
_SUMMARY = "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected."
_TITLE = (
    "({}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn rate is too fast."
)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the three groups are built from, resolved and checked once."""

    slo: SLO
    error: str  # the error-ratio template, with {{.window}}
    total: str  # the total-events template (a per-second rate), with {{.window}}
    period: timedelta
    pairs: tuple[WindowPair, ...]
    slice_span: timedelta  # the window the RatioTimeslices mean runs over
    windows: list[timedelta]  # every window an SLI rule is recorded for but the period, shortest first
    ids: dict[str, str]  # sloth_id, sloth_service, sloth_slo
    filter: str  # the ids as a PromQL label filter

    @property
    def target(self) -> float:
        return self.slo.objectives[0].target


def export_rules(slo: SLO) -> str:
    """The Prometheus rules file for ``slo``; raises :class:`ValidationError` naming every field refused."""
    plan = _plan(slo)
    groups = [_sli_group(plan), _meta_group(plan), _alert_group(plan)]
    body = yaml.dump({"groups": groups}, Dumper=_Dumper, sort_keys=False, width=1 << 20, allow_unicode=True)
    return _header(plan) + body


def _plan(slo: SLO) -> _Plan:
    problems: list[Problem] = []

    def fail(path: str, reason: str) -> None:
        problems.append(Problem(f"SLO/{slo.name}", path, reason))

    templates = _templates(slo, fail)
    if slo.budgeting_method == "Timeslices":
        fail("spec.budgetingMethod", "Timeslices (good slices / all slices) has no Sloth rule form")
    if len(slo.objectives) != 1:
        fail("spec.objectives", f"Sloth rules carry one objective, not {len(slo.objectives)}: split the SLO")
    period = rolling_timedelta(slo.time_window.duration)
    pairs, slice_span, windows = _windows(slo, period, fail)
    if problems or templates is None:
        raise ValidationError(problems)
    ids = {"sloth_id": f"{slo.service}-{slo.name}", "sloth_service": slo.service, "sloth_slo": slo.name}
    where = "{" + ", ".join(f"{key}={json.dumps(value)}" for key, value in ids.items()) + "}"
    return _Plan(slo, *templates, period, pairs, slice_span, windows, ids, where)


def _templates(slo: SLO, fail: Callable[[str, str], None]) -> tuple[str, str] | None:
    """The error-ratio and total templates, or None after recording why there are none."""
    if slo.components or slo.indicator is None:
        fail(
            "spec.watchfloor.composite", "a composite SLO has no indicator of its own; export its components"
        )
        return None
    ratio = slo.indicator.ratio_metric
    if ratio is None:
        fail("spec.indicator.spec.thresholdMetric", "Sloth rules are event ratios: a threshold cannot be one")
        return None
    found: dict[str, str] = {}
    for field in ("good", "bad", "total"):
        source = getattr(ratio, field)
        try:
            if source is not None:
                found[field] = source_template(source)
        except Untranslatable as error:
            fail(f"{_RATIO_PATH}.{field}.metricSource.spec.query", str(error))
    if "total" not in found or not {"good", "bad"} & found.keys():
        return None
    return error_ratio(found["total"], good=found.get("good"), bad=found.get("bad")), found["total"]


def _windows(
    slo: SLO, period: timedelta, fail: Callable[[str, str], None]
) -> tuple[tuple[WindowPair, ...], timedelta, list[timedelta]]:
    """The tiers, the RatioTimeslices slice and every window but the period that needs an SLI rule."""
    pairs = slo.windows if slo.windows is not None else default_windows(period)
    if not pairs:
        fail("spec.watchfloor.windows", "needs at least one window pair to alert on")
        pairs = default_windows(period)
    slice_window = slo.objectives[0].time_slice_window if slo.objectives else None
    slice_span = rolling_timedelta(slice_window) if slice_window else min(p.short for p in pairs)
    spans = {span for pair in pairs for span in (pair.short, pair.long)}
    if slo.budgeting_method == "RatioTimeslices":
        spans.add(slice_span)
        if period in spans:
            # Both would record slo:sli_error:ratio_rate<period> with the same labels.
            fail("spec.timeWindow[0].duration", f"{_duration(period)} is also an alert or slice window")
    return pairs, slice_span, sorted(spans)


def _sli_group(plan: _Plan) -> dict[str, object]:
    rules = [_sli_rule(plan, window, render(plan.error, _duration(window))) for window in plan.windows]
    if plan.period not in plan.windows:
        rules.append(_sli_rule(plan, plan.period, _period_sli(plan)))
    return {"name": f"sloth-slo-sli-recordings-{plan.ids['sloth_id']}", "rules": rules}


def _sli_rule(plan: _Plan, window: timedelta, expr: str) -> dict[str, object]:
    return {
        "record": _sli_metric(window),
        "expr": expr + "\n",
        "labels": {**plan.ids, _WINDOW_LABEL: _duration(window)},
    }


def _period_sli(plan: _Plan) -> str:
    period = _duration(plan.period)
    if plan.slo.budgeting_method == "Occurrences":
        # Rates over the same range divide like increases: this is bad events / all events.
        return render(plan.error, period)
    # Sloth's form: the mean of the slice-window ratios, each sample a ratio of 1 in the count.
    series = f"{_sli_metric(plan.slice_span)}{plan.filter}[{period}]"
    return f"sum_over_time({series})\n/ ignoring ({_WINDOW_LABEL})\ncount_over_time({series})"


def _meta_group(plan: _Plan) -> dict[str, object]:
    objective, days = _number(plan.target), _number(plan.period / timedelta(days=1))
    exprs = {
        "slo:objective:ratio": f"vector({objective})",
        "slo:error_budget:ratio": f"vector(1-{objective})",
        "slo:time_period:days": f"vector({days})",
        "slo:current_burn_rate:ratio": _burn_rate(plan, min(pair.short for pair in plan.pairs)),
        "slo:period_burn_rate:ratio": _burn_rate(plan, plan.period),
        "slo:period_error_budget_remaining:ratio": f"1 - slo:period_burn_rate:ratio{plan.filter}",
    }
    rules: list[dict[str, object]] = [{"record": r, "expr": e, "labels": plan.ids} for r, e in exprs.items()]
    info = {**plan.ids, **_INFO_LABELS, "sloth_objective": _percent(plan.target)}
    rules.append({"record": "sloth_slo_info", "expr": "vector(1)", "labels": dict(sorted(info.items()))})
    return {"name": f"sloth-slo-meta-recordings-{plan.ids['sloth_id']}", "rules": rules}


def _burn_rate(plan: _Plan, window: timedelta) -> str:
    return (
        f"{_sli_metric(window)}{plan.filter}\n"
        "/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
        f"slo:error_budget:ratio{plan.filter}\n"
    )


def _alert_group(plan: _Plan) -> dict[str, object]:
    severities = list(dict.fromkeys(pair.severity for pair in plan.pairs))
    rules = [
        _alert(plan, severity, [p for p in plan.pairs if p.severity == severity]) for severity in severities
    ]
    return {"name": f"sloth-slo-alerts-{plan.ids['sloth_id']}", "rules": rules}


def _alert(plan: _Plan, severity: str, pairs: list[WindowPair]) -> dict[str, object]:
    expr = "\nor\n".join(_pair_condition(plan, pair) for pair in pairs) + "\n"
    return {
        "alert": _alert_name(plan.slo.name),
        "expr": expr,
        "labels": {"sloth_severity": severity, "watchfloor_slo": plan.slo.name},
        "annotations": {"summary": _SUMMARY, "title": _TITLE.format(severity)},
    }


def _pair_condition(plan: _Plan, pair: WindowPair) -> str:
    limit = f"({_number(pair.threshold)} * {_number(error_budget(plan.target))})"
    lines = [
        f"    max({_sli_metric(pair.short)}{plan.filter} > {limit}) without ({_WINDOW_LABEL})",
        "    and",
        f"    max({_sli_metric(pair.long)}{plan.filter} > {limit}) without ({_WINDOW_LABEL})",
    ]
    if plan.slo.min_events > 0:
        # Low traffic (slo.md §2): at 10 requests an hour one failure is a 1000× burn.
        seconds = _number(pair.long.total_seconds())
        events = f"({render(plan.total, _duration(pair.long))}) * {seconds}"
        lines += ["    and on ()", f"    ({events} >= {plan.slo.min_events})"]
    return "(\n" + "\n".join(lines) + "\n)"


def _header(plan: _Plan) -> str:
    slo, period = plan.slo, _duration(plan.period)
    notes = [
        f"Generated by Watchfloor from SLO/{slo.name} (service {slo.service}) in Sloth's v0.11 layout.",
        "Do not edit: change the OpenSLO definition and export it again.",
        f"slo:sli_error:ratio_rate{period} "
        + (
            "counts events over the period (Occurrences), not Sloth's mean of 5m ratios."
            if slo.budgeting_method == "Occurrences"
            else f"is the mean of the {_duration(plan.slice_span)} ratios (RatioTimeslices)."
        ),
    ]
    if not slo.time_window.is_rolling:
        notes.append(f"The calendar period {slo.time_window.duration} is evaluated as a rolling {period}.")
    if slo.exclusions:
        notes.append("Maintenance exclusions are not applied here: silence these alerts in Alertmanager.")
    if slo.min_events > 0:
        notes.append(f"An alert needs at least {slo.min_events} events in its long window (minEvents).")
    return "".join(f"# {note}\n" for note in notes) + "\n"


def _sli_metric(window: timedelta) -> str:
    return f"slo:sli_error:ratio_rate{_duration(window)}"


def _duration(span: timedelta) -> str:
    """A PromQL duration in one unit, as Sloth prints them: ``30d``, ``6h``, ``5m`` (never ``4w2d``)."""
    return duration(int(span.total_seconds()) * 1000)


def _number(value: float) -> str:
    """``repr`` of the float (exact when read back), without a trailing ``.0``."""
    return repr(float(value)).removesuffix(".0")


def _percent(target: float) -> str:
    # A label for people (Sloth's "99.9"), not arithmetic: 12 significant digits hide 0.999 × 100's noise.
    return format(target * 100, ".12g")


def _alert_name(slo_name: str) -> str:
    """``playback-start-availability`` → ``PlaybackStartAvailabilityBurnRate`` (a valid metric name)."""
    name = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", slo_name))
    return ("SLO" if name[:1].isdigit() else "") + name + "BurnRate"


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (the PromQL) as ``|`` blocks, as Sloth does, and never ``&id`` aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _represent_str)
