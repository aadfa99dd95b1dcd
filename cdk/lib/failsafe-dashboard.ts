import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { perSourceSearch } from './common';
import { CONTRACT } from './contract';
import { RestoreDrill } from './restore-drill';

/** The metric `prune` writes (EMF) for each source and as a roll-up without dimensions. */
export const COPY_AGE_METRIC = { namespace: CONTRACT.metrics.namespace, metricName: CONTRACT.metrics.newestVerifiedCopyAgeHours };
/**
 * What `verify` writes (EMF) per source and as a roll-up for each Failsafe copy its run made: its
 * seconds, 1 if it was incremental (else 0), and the GiB a full copy of a DB instance moved.
 */
export const COPY_TIME_METRICS = {
  namespace: CONTRACT.metrics.namespace,
  seconds: CONTRACT.metrics.copySeconds,
  sizeGib: CONTRACT.metrics.copySizeGib,
  incremental: CONTRACT.metrics.copyIncremental,
};
/** What `prune` writes (EMF, no dimensions) once per run that is not a dry run. */
export const RUN_OUTCOME_METRICS = {
  namespace: CONTRACT.metrics.namespace,
  saved: CONTRACT.metrics.copiesSaved,
  failed: CONTRACT.metrics.copiesFailed,
};

export interface FailsafeDashboardProps {
  /** `newestCopyMaxAgeHours`: the threshold line on the copy-age graph. */
  readonly maxAge: number;
  /** The dashboard is `<name>-failsafe`. */
  readonly name: string;
  /** The Failsafe state machine, whose executions are graphed. */
  readonly stateMachine: sfn.IStateMachine;
  /** The dead-man's switch. */
  readonly copyAgeAlarm: cloudwatch.Alarm;
  /** The restore drill, when it is on: its graphs and alarm join the page. */
  readonly drill?: RestoreDrill;
}

/** The Failsafe account's dashboard (a `Dashboard`, so its logical ID is the dashboard's own). */
export class FailsafeDashboard extends cloudwatch.Dashboard {
  /**
   * One page for the operator: every source's newest verified copy age against the threshold
   * (a SEARCH, so a new source appears without a deploy), copies saved and failed per run, the
   * executions, the alarms, and the drills when they are on.
   */
  constructor(scope: Construct, id: string, props: FailsafeDashboardProps) {
    const { maxAge, name, drill } = props;
    const { namespace, metricName } = COPY_AGE_METRIC;
    const threshold = { value: maxAge, label: `newestCopyMaxAgeHours (${maxAge} h)`, color: '#d62728' };
    const perRun = (metric: string, label: string, color: string) =>
      new cloudwatch.Metric({
        namespace: RUN_OUTCOME_METRICS.namespace,
        metricName: metric,
        statistic: 'Sum',
        period: Duration.days(1),
        label,
        color,
      });
    const m = props.stateMachine;
    super(scope, id, {
      dashboardName: `${name}-failsafe`,
      defaultInterval: Duration.days(14),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Newest verified copy age per source (hours)',
            width: 24,
            left: [perSourceSearch(namespace, metricName, 'Maximum', Duration.hours(1))],
            leftAnnotations: [threshold],
            leftYAxis: { min: 0, label: 'hours' },
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Failsafe copy time per source (seconds)',
            width: 8,
            left: [perSourceSearch(COPY_TIME_METRICS.namespace, COPY_TIME_METRICS.seconds, 'Maximum', Duration.days(1))],
            leftYAxis: { min: 0, label: 'seconds' },
          }),
          new cloudwatch.GraphWidget({
            title: 'GiB moved by full copies of DB instances per day (each billed whole)',
            width: 8,
            left: [
              new cloudwatch.Metric({
                namespace: COPY_TIME_METRICS.namespace,
                metricName: COPY_TIME_METRICS.sizeGib,
                statistic: 'Sum',
                period: Duration.days(1),
                label: 'GiB copied in full',
              }),
            ],
            leftYAxis: { min: 0, label: 'GiB' },
          }),
          new cloudwatch.GraphWidget({
            title: 'Failsafe copies per day: all, and incremental (incremental sources)',
            width: 8,
            left: [
              new cloudwatch.Metric({
                namespace: COPY_TIME_METRICS.namespace,
                metricName: COPY_TIME_METRICS.incremental,
                statistic: 'SampleCount',
                period: Duration.days(1),
                label: 'copies',
              }),
              new cloudwatch.Metric({
                namespace: COPY_TIME_METRICS.namespace,
                metricName: COPY_TIME_METRICS.incremental,
                statistic: 'Sum',
                period: Duration.days(1),
                label: 'incremental',
                color: '#2ca02c',
              }),
            ],
            leftYAxis: { min: 0 },
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Copies saved and failed per day',
            width: 12,
            left: [perRun(RUN_OUTCOME_METRICS.saved, 'saved', '#2ca02c'), perRun(RUN_OUTCOME_METRICS.failed, 'failed', '#d62728')],
            leftYAxis: { min: 0 },
          }),
          new cloudwatch.GraphWidget({
            title: 'Failsafe executions per day',
            width: 12,
            left: [
              m.metricSucceeded({ statistic: 'Sum', period: Duration.days(1), label: 'succeeded', color: '#2ca02c' }),
              m.metricFailed({ statistic: 'Sum', period: Duration.days(1), label: 'failed', color: '#d62728' }),
              m.metricTimedOut({ statistic: 'Sum', period: Duration.days(1), label: 'timed out', color: '#ff7f0e' }),
            ],
            leftYAxis: { min: 0 },
          }),
        ],
        ...(drill ? [drill.widgets()] : []),
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            width: 24,
            alarms: [props.copyAgeAlarm, ...(drill ? [drill.failedAlarm, ...(drill.rtoAlarm ? [drill.rtoAlarm] : [])] : [])],
          }),
        ],
      ],
    });
  }
}
