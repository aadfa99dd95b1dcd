"""CloudWatch metric alarms of a synthesized template, evaluated on the metrics the task Lambdas
wrote: the local stack has no CloudWatch, so a test asks here whether what a Lambda logged would
set off what the deployment alarms on.

The metrics are read as CloudWatch reads them from a log: embedded metric format records (a JSON
object with `_aws.CloudWatchMetrics`: namespace, dimension sets, metrics; one datapoint per metric
and dimension set, the dimensions' values read from the record's own fields, stamped with
`_aws.Timestamp`). An alarm is evaluated as CloudWatch evaluates a single-metric alarm: the
datapoints whose dimensions are exactly the alarm's, grouped by `Period` from the epoch and reduced
by `Statistic`; a period breaches when the comparison with `Threshold` holds, and the alarm is in
ALARM when `DatapointsToAlarm` (default `EvaluationPeriods`) of the last `EvaluationPeriods` periods
breach. A period without data is good under `TreatMissingData` `notBreaching`, bad under
`breaching`; `missing` and `ignore` leave it out. An alarm this module cannot evaluate (metric
math, an extended statistic) is an error naming it, never a quiet "OK".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from .templates import resources

COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}
STATISTIC = {
    "Maximum": max,
    "Minimum": min,
    "Sum": sum,
    "Average": lambda vs: sum(vs) / len(vs),
    "SampleCount": len,
}


@dataclass(frozen=True)
class Datapoint:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    value: float
    timestamp_ms: int


def emf_datapoints(lines: Iterable[str]) -> list[Datapoint]:
    """Every datapoint of the EMF records among these log lines (a line's JSON object may follow
    a prefix, as the local Lambda host writes it)."""
    points = []
    for line in lines:
        start = line.find("{")
        if start < 0 or '"_aws"' not in line:
            continue
        try:
            record = json.loads(line[start:])
        except json.JSONDecodeError:
            continue
        aws = record.get("_aws") if isinstance(record, dict) else None
        if not isinstance(aws, dict):
            continue
        for directive in aws.get("CloudWatchMetrics", []):
            for dimension_set in directive.get("Dimensions", []):
                if any(d not in record for d in dimension_set):
                    continue  # EMF: the record must hold every dimension it names, else no metric
                dims = tuple(sorted((d, str(record[d])) for d in dimension_set))
                for metric in directive.get("Metrics", []):
                    if metric["Name"] in record:
                        points.append(Datapoint(directive["Namespace"], metric["Name"], dims,
                                                float(record[metric["Name"]]), int(aws["Timestamp"])))
    return points


def metric_alarm(template: dict, metric_name: str) -> tuple[str, dict]:
    """The one alarm of the template on `metric_name`: (logical id, properties)."""
    found = [(k, r["Properties"]) for k, r in resources(template, "AWS::CloudWatch::Alarm").items()
             if r["Properties"].get("MetricName") == metric_name]
    if len(found) != 1:
        raise ValueError(f"expected one alarm on {metric_name} in the template, found {[k for k, _ in found]}")
    return found[0]


def alarm_periods(props: dict, points: list[Datapoint]) -> dict[int, bool]:
    """Each period (its start, epoch seconds) from the first datapoint's to the last's: whether it
    breaches, per the alarm's statistic, threshold and treatment of missing data (a period left
    out under `missing`/`ignore` is absent)."""
    name = props.get("AlarmName") or props.get("MetricName") or "alarm"
    if "Metrics" in props or "ExtendedStatistic" in props:
        raise ValueError(f"{name}: metric math and extended statistics are not evaluated here")
    for field in ("Namespace", "MetricName", "Statistic", "Period", "Threshold", "ComparisonOperator"):
        if field not in props:
            raise ValueError(f"{name}: no {field}: not a single-metric alarm this module evaluates")
    if props["ComparisonOperator"] not in COMPARE:
        raise ValueError(f"{name}: ComparisonOperator {props['ComparisonOperator']} is not evaluated here")
    want = tuple(sorted((d["Name"], str(d["Value"])) for d in props.get("Dimensions", [])))
    period = int(props["Period"])
    buckets: dict[int, list[float]] = {}
    for p in points:
        if (p.namespace, p.name, p.dimensions) == (props["Namespace"], props["MetricName"], want):
            start = p.timestamp_ms // 1000 // period * period
            buckets.setdefault(start, []).append(p.value)
    if not buckets:
        return {}
    missing = props.get("TreatMissingData", "missing")
    compare, reduce = COMPARE[props["ComparisonOperator"]], STATISTIC[props["Statistic"]]
    out = {}
    for start in range(min(buckets), max(buckets) + period, period):
        if start in buckets:
            out[start] = compare(reduce(buckets[start]), float(props["Threshold"]))
        elif missing in ("breaching", "notBreaching"):
            out[start] = missing == "breaching"
    return out


def in_alarm(props: dict, points: list[Datapoint]) -> list[int]:
    """The periods (epoch seconds of their start) at whose end the alarm is in ALARM."""
    periods = alarm_periods(props, points)
    n = int(props.get("EvaluationPeriods", 1))
    m = int(props.get("DatapointsToAlarm", n))
    starts = sorted(periods)
    return [s for i, s in enumerate(starts) if sum(periods[t] for t in starts[max(0, i - n + 1):i + 1]) >= m]
