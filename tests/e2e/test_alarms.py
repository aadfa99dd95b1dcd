"""The local stack's evaluation of a template's CloudWatch alarms (rdsf_local/alarms.py), on its
own: which datapoints an EMF record makes, and when an alarm is in ALARM."""

import json

import pytest
from rdsf_local.alarms import emf_datapoints, in_alarm, metric_alarm

HOUR = 3600


def emf(ts_s: int, **fields) -> str:
    """A log line with one EMF record: per source and rolled up, as end-drill writes it."""
    names = [k for k in fields if k not in ("SourceAccount", "SourceId")]
    record = {**fields, "_aws": {"Timestamp": ts_s * 1000, "CloudWatchMetrics": [{
        "Namespace": "RdsFailsafe", "Dimensions": [["SourceAccount", "SourceId"], []],
        "Metrics": [{"Name": n, "Unit": "Count"} for n in names]}]}}
    return "2026-11-22T06:00:00Z INFO " + json.dumps(record)


ALARM = {"Namespace": "RdsFailsafe", "MetricName": "DrillRtoBreached", "Statistic": "Maximum",
         "Period": HOUR, "Threshold": 1, "EvaluationPeriods": 1,
         "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"}


def test_a_record_makes_one_datapoint_per_dimension_set_and_metric():
    points = emf_datapoints([emf(7200, SourceAccount="1", SourceId="orders", DrillRtoBreached=1, DrillFailed=0),
                             "a line that is not a metric {\"x\": 1}"])
    assert sorted((p.name, p.dimensions) for p in points) == [
        ("DrillFailed", ()), ("DrillFailed", (("SourceAccount", "1"), ("SourceId", "orders"))),
        ("DrillRtoBreached", ()), ("DrillRtoBreached", (("SourceAccount", "1"), ("SourceId", "orders")))]


def test_the_alarm_is_in_alarm_for_the_period_of_a_breach_and_not_after():
    lines = [emf(HOUR * 10 + 5, SourceAccount="1", SourceId="a", DrillRtoBreached=1),
             emf(HOUR * 10 + 50, SourceAccount="1", SourceId="b", DrillRtoBreached=0),
             emf(HOUR * 12, SourceAccount="1", SourceId="a", DrillRtoBreached=0)]
    assert in_alarm(ALARM, emf_datapoints(lines)) == [HOUR * 10]
    # an alarm on other dimensions than the records carry sees nothing
    other = {**ALARM, "Dimensions": [{"Name": "SourceId", "Value": "a"}]}
    assert in_alarm(other, emf_datapoints(lines)) == []


def test_m_out_of_n_and_missing_data():
    lines = [emf(HOUR * 1, DrillRtoBreached=1), emf(HOUR * 3, DrillRtoBreached=1)]
    two_of_three = {**ALARM, "EvaluationPeriods": 3, "DatapointsToAlarm": 2}
    assert in_alarm(two_of_three, emf_datapoints(lines)) == [HOUR * 3]
    assert in_alarm({**two_of_three, "TreatMissingData": "breaching"}, emf_datapoints(lines)) == [HOUR * 2, HOUR * 3]
    assert in_alarm({**ALARM, "EvaluationPeriods": 2}, emf_datapoints(lines)) == []


def test_what_it_cannot_evaluate_is_an_error_naming_the_alarm():
    with pytest.raises(ValueError, match="metric math"):
        in_alarm({"AlarmName": "x", "Metrics": []}, [])
    with pytest.raises(ValueError, match="expected one alarm on DrillRtoBreached"):
        metric_alarm({"Resources": {}}, "DrillRtoBreached")
