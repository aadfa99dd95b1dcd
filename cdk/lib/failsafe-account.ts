import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { AlertChannel } from './alerts';
import { readAsl } from './asl';
import {
  concreteEnv,
  rdsArn,
  createdManaged,
  DEFAULT_TOPIC_NAME,
  describeSnapshots,
  managedOnly,
  OWN_COPIES,
  ownCopyArns,
  readSnapshotQuota,
  ScheduledRunProps,
  ScheduledMachine,
  scheduleProps,
  taskFunctionsFor,
  VERIFIED_TAG,
} from './common';
import { TaskFunction } from './task-function';
import { CONTRACT, task } from './contract';
import { accountList, boolean, ConfigError, integer, regionList, setting, topicName } from './validation';

/**
 * Which Failsafe copies retention keeps per source. Either grandfather-father-son counts
 * (`daily`, `weekly`, `monthly`; defaults 7, 4, 12) or `days`: every copy whose source is at
 * most that many days old. The newest `minKeep` verified copies are kept whatever this says.
 */
export interface RetentionProps {
  readonly daily?: number;
  readonly weekly?: number;
  readonly monthly?: number;
  readonly days?: number;
}

/**
 * The opt-in restore drill: a third state machine that restores the newest verified copy of a
 * source into `rdsf-drill-<source>-<stamp>` (tagged `rds-failsafe:drill=true`, never publicly
 * accessible), waits until it is available, deletes it without a final snapshot (on failure too),
 * tags the copy `rds-failsafe:restore-tested` and writes the drill metric.
 */
export interface RestoreDrillProps {
  /** A DB subnet group of this account (private subnets) the drills restore into. */
  readonly subnetGroupName: string;
  /** 1–5 security groups of that VPC for the restored databases; no inbound rule is needed. */
  readonly securityGroupIds: string[];
  /** Default weekly, `cron(0 6 ? * SUN *)`, in `scheduleTimeZone`. */
  readonly schedule?: string;
  /** `one` (default): the source drilled least recently, each run; `all`: every source, one after the other. */
  readonly sources?: 'one' | 'all';
  /** One class for every drill, instead of the smallest class RDS offers each copy's engine version. */
  readonly instanceClass?: string;
}

export interface FailsafeAccountProps extends ScheduledRunProps {
  /** The Live accounts allowed to publish to the topic and whose shared snapshots are saved. */
  readonly sourceAccounts: string[];
  /**
   * The regions the Live accounts share snapshots from (their `liveRegion`). A snapshot shared
   * with this account is visible only in its own region, so `find-shared` looks in each of these,
   * and `save` copies cross-region into this stack's region. Default: this stack's region.
   */
  readonly sourceRegions?: string[];
  /** Name of the trigger topic the Live side publishes to. Default `rds-failsafe`. */
  readonly topicName?: string;
  readonly retention?: RetentionProps;
  /** The floor: the newest N verified copies per source are never pruned. 1–1000, default 3. */
  readonly minKeep?: number;
  /** The daily backstop run, in case a message never arrives. Default `cron(0 11 * * ? *)`. */
  readonly schedule?: string;
  /** Encrypt unencrypted DB instance snapshots with the Failsafe key. Default true. */
  readonly encryptUnencrypted?: boolean;
  /**
   * The dead-man's switch: alarm when no run in the last 24 hours reported every source's newest
   * verified copy at most this many hours old. 24–720, default 30.
   */
  readonly newestCopyMaxAgeHours?: number;
  /**
   * Sources retired on purpose, as `<live-account>:<source-id>`: their copies stay under retention
   * and `minKeep`, but no copy age is reported for them, so the dead-man's switch stops watching
   * them. Default none.
   */
  readonly retiredSources?: string[];
  /** Default `rds-failsafe`. */
  readonly stateMachineName?: string;
  /** Opt-in restore drill; without it no drill machine, role or schedule is deployed. */
  readonly restoreDrill?: RestoreDrillProps;
}

/** The tag on every database a drill makes; the drill's roles may delete only what carries it. */
export const DRILL_TAG = CONTRACT.tags.drill;
/** The other tag on a drill's database: the ARN of the copy it was restored from. */
export const RESTORED_FROM_TAG = CONTRACT.tags.restoredFrom;
/** The one tag `end-drill` adds to a copy. */
export const RESTORE_TESTED_TAG = CONTRACT.tags.restoreTested;
/** What `end-drill` writes (EMF) per source and rolled up. */
export const DRILL_METRICS = {
  namespace: CONTRACT.metrics.namespace,
  passed: CONTRACT.metrics.drillPassed,
  failed: CONTRACT.metrics.drillFailed,
  seconds: CONTRACT.metrics.restoreSeconds,
};

function drillEnv(d: RestoreDrillProps, region: string): Record<string, string> {
  const subnet = String(d.subnetGroupName ?? '');
  if (!/^[A-Za-z0-9 ._-]{1,255}$/.test(subnet) || subnet.toLowerCase() === 'default') {
    throw new ConfigError(
      'restoreDrill.subnetGroupName',
      `${JSON.stringify(d.subnetGroupName)} must name a DB subnet group of the Failsafe account (private subnets), not "default"`,
    );
  }
  const groups = d.securityGroupIds;
  if (
    !Array.isArray(groups) ||
    groups.length < 1 ||
    groups.length > 5 ||
    !groups.every((g) => /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/.test(String(g)))
  ) {
    throw new ConfigError(
      'restoreDrill.securityGroupIds',
      `${JSON.stringify(groups)} must be 1-5 security group ids such as sg-0123456789abcdef0`,
    );
  }
  const sources = d.sources ?? 'one';
  if (sources !== 'one' && sources !== 'all') {
    throw new ConfigError(
      'restoreDrill.sources',
      `${JSON.stringify(sources)} must be "one" (the source drilled least recently, each run) or "all"`,
    );
  }
  const env: Record<string, string> = {
    REGION: region,
    DRILL_SUBNET_GROUP: subnet,
    DRILL_SECURITY_GROUPS: groups.join(','),
    DRILL_SOURCES: sources,
  };
  if (d.instanceClass !== undefined) {
    if (!/^db\.[a-z0-9-]+\.[a-z0-9-]+$/.test(String(d.instanceClass))) {
      throw new ConfigError(
        'restoreDrill.instanceClass',
        `${JSON.stringify(d.instanceClass)} must be a DB instance class such as db.t4g.medium`,
      );
    }
    env.DRILL_INSTANCE_CLASS = d.instanceClass;
  }
  return env;
}

/** Lets a task create RDS's service-linked role `AWSServiceRoleForRDS` and nothing else
 * (`iam:AWSServiceName` = rds.amazonaws.com; IAM User Guide, "Service-linked role permissions"). */
function createRdsServiceLinkedRole(task: TaskFunction): void {
  const { account } = concreteEnv(task);
  task.allow({
    actions: ['iam:CreateServiceLinkedRole'],
    resources: [`arn:${Stack.of(task).partition}:iam::${account}:role/aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS`],
    conditions: { StringEquals: { 'iam:AWSServiceName': 'rds.amazonaws.com' } },
  });
}

/** `<live-account>:<source-id>` entries, each of an allowed Live account. */
function retiredSourceList(value: string[] | undefined, sources: string[]): string[] {
  return (value ?? []).map((entry, i) => {
    const [account, id, ...rest] = String(entry).split(':');
    if (rest.length > 0 || !sources.includes(account) || !/^[a-z0-9-]+$/.test(id ?? '')) {
      throw new ConfigError(
        `retiredSources[${i}]`,
        `${JSON.stringify(entry)} must be <live-account>:<source-id>, the account one of sourceAccounts (${sources.join(', ')}) and the id the database's lower-case identifier, e.g. ${sources[0]}:orders`,
      );
    }
    return `${account}:${id}`;
  });
}

/** The metric `prune` writes (EMF) for each source and as a roll-up without dimensions. */
export const COPY_AGE_METRIC = { namespace: CONTRACT.metrics.namespace, metricName: CONTRACT.metrics.newestVerifiedCopyAgeHours };
/** What `prune` writes (EMF, no dimensions) once per run that is not a dry run. */
export const RUN_OUTCOME_METRICS = {
  namespace: CONTRACT.metrics.namespace,
  saved: CONTRACT.metrics.copiesSaved,
  failed: CONTRACT.metrics.copiesFailed,
};

function retentionEnv(r: RetentionProps | undefined, minKeep: number | undefined): Record<string, string> {
  const env: Record<string, string> = {
    MIN_KEEP: String(
      setting('minKeep', minKeep, CONTRACT.settings.minKeep, 'the floor: this many newest verified copies per source are never pruned'),
    ),
  };
  const gfs = (['daily', 'weekly', 'monthly'] as const).filter((k) => r?.[k] !== undefined);
  if (r?.days !== undefined) {
    if (gfs.length > 0) {
      throw new ConfigError(
        'retention',
        `days and ${gfs.join(', ')} are both set; use either days (keep every copy up to that many days old) or daily/weekly/monthly counts`,
      );
    }
    env.RETENTION = String(
      setting('retention.days', r.days, CONTRACT.settings.retentionDays, 'copies whose source is at most this many days old are kept'),
    );
    return env;
  }
  const daily = setting('retention.daily', r?.daily, CONTRACT.settings.keepDaily);
  const weekly = setting('retention.weekly', r?.weekly, CONTRACT.settings.keepWeekly);
  const monthly = setting('retention.monthly', r?.monthly, CONTRACT.settings.keepMonthly);
  if (daily + weekly + monthly === 0) {
    throw new ConfigError(
      'retention',
      'daily, weekly and monthly are all 0, which keeps nothing beyond minKeep; keep at least one daily copy',
    );
  }
  return { ...env, KEEP_DAILY: String(daily), KEEP_WEEKLY: String(weekly), KEEP_MONTHLY: String(monthly) };
}

/**
 * Everything rds-failsafe needs in the Failsafe account: the trigger topic only the Live accounts
 * may publish to, start-failsafe subscribed to it, the five task Lambdas with a role each, the
 * Failsafe key the copies are encrypted with (retained, 30-day deletion window), the Failsafe
 * state machine with a daily backstop schedule, and alarms including the dead-man's switch.
 */
export class FailsafeAccount extends Construct {
  readonly failsafeKey: kms.Key;
  readonly topic: sns.Topic;
  readonly topicKey: kms.Key;
  readonly machine: ScheduledMachine;
  readonly functions: Record<string, TaskFunction>;
  readonly startFailsafe: TaskFunction;
  readonly alerts: AlertChannel;
  readonly copyAgeAlarm: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;
  /** The restore drill, when `restoreDrill` is set. */
  readonly drill?: { machine: ScheduledMachine; functions: Record<string, TaskFunction>; failedAlarm: cloudwatch.Alarm };

  constructor(scope: Construct, id: string, props: FailsafeAccountProps) {
    super(scope, id);
    const { account, region } = concreteEnv(this);
    const partition = Stack.of(this).partition;
    const sources = accountList('sourceAccounts', props.sourceAccounts, 100, account, 'the Failsafe account');
    const sourceRegions = regionList('sourceRegions', props.sourceRegions ?? [region]);
    const sched = scheduleProps(props.schedule, props.scheduleTimeZone, props.maxConcurrency, 'cron(0 11 * * ? *)');
    const encryptUnencrypted = boolean('encryptUnencrypted', props.encryptUnencrypted ?? true);
    const maxAge = integer(
      'newestCopyMaxAgeHours',
      props.newestCopyMaxAgeHours ?? 30,
      24,
      720,
      'copies are daily, so below 24 h the alarm fires every day',
    );
    const retention = retentionEnv(props.retention, props.minKeep);
    const retired = retiredSourceList(props.retiredSources, sources);
    this.alerts = new AlertChannel(this, 'Alerts', props.alerts, 'alerts');

    this.failsafeKey = new kms.Key(this, 'FailsafeKey', {
      description: 'rds-failsafe: encrypts the Failsafe copies; owned by this account so no Live key can make them unreadable',
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'rds-failsafe: encrypts the trigger topic; the Live accounts may use it only through SNS',
      enableKeyRotation: true,
    });
    const livePrincipals = sources.map((a) => new iam.AccountPrincipal(a));
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'LiveAccountsPublishThroughSns',
        principals: livePrincipals,
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${region}.amazonaws.com` } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: topicName('topicName', props.topicName ?? DEFAULT_TOPIC_NAME),
      displayName: 'rds-failsafe trigger from the Live account(s)',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyLiveAccountsPublish',
        principals: livePrincipals,
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
      }),
    );
    // The Live preflight reads this policy to check that its account may publish (read-only:
    // the topic's attributes, not its messages or subscriptions' endpoints).
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'LiveAccountsReadTopicPolicy',
        principals: livePrincipals,
        actions: ['sns:GetTopicAttributes'],
        resources: [this.topic.topicArn],
      }),
    );

    const asl = readAsl('failsafe.asl.json');
    const environment = {
      REGION: region,
      SOURCE_ACCOUNTS: sources.join(','),
      SOURCE_REGIONS: sourceRegions.join(','),
      FAILSAFE_KMS_KEY_ARN: this.failsafeKey.keyArn,
      ENCRYPT_UNENCRYPTED: String(encryptUnencrypted),
      ...retention,
      ...(retired.length > 0 ? { RETIRED_SOURCES: retired.join(',') } : {}),
    };
    this.functions = taskFunctionsFor(this, asl, 'failsafe', {
      lambdaDir: props.lambdaDir,
      environment,
      configFields: {
        SOURCE_ACCOUNTS: { field: 'sourceAccounts' },
        SOURCE_REGIONS: { field: 'sourceRegions' },
        RETIRED_SOURCES: { field: 'retiredSources' },
      },
    });
    const f = this.functions;
    const ownCopies = ownCopyArns(this, account, region);

    describeSnapshots(f.FindSharedFunctionArn);
    readSnapshotQuota(f.FindSharedFunctionArn);
    describeSnapshots(f.SaveFunctionArn);
    f.SaveFunctionArn.allow(
      {
        // from a share copy (rdsf-...) of an allowed Live account, any region, to a managed copy here
        actions: ['rds:CopyDBSnapshot', 'rds:CopyDBClusterSnapshot'],
        resources: [...sources.flatMap((a) => ownCopyArns(this, a, '*')), ...ownCopies],
        conditions: createdManaged,
      },
      'From the rdsf-* share copies of the allowed Live accounts (in any region: Live may copy cross-region) to a new rdsf-* copy here; the request must tag it rds-failsafe:managed=true.',
    );
    f.SaveFunctionArn.allow({ actions: ['rds:AddTagsToResource'], resources: ownCopies, conditions: createdManaged }, OWN_COPIES);
    // A cross-region copy needs no rds:CrossRegionCommunication here: RDS verifies its
    // authorisation to the source region with that permission of its own service-linked role
    // (Amazon RDS User Guide, copying a snapshot, "Authorizing the snapshot copy"); the caller
    // needs the copy permission on the source and the target, granted above.
    f.SaveFunctionArn.allow(
      {
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey', 'kms:CreateGrant'],
        resources: [this.failsafeKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `rds.${region}.amazonaws.com` } },
      },
      'GenerateDataKey* and ReEncrypt* are the action families RDS uses to encrypt a copy under the Failsafe key; only that key, only through RDS.',
    );
    f.SaveFunctionArn.allow(
      {
        // the Live share keys, whose key policies let this account use them through RDS
        actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:CreateGrant'],
        resources: sources.map((a) => `arn:${partition}:kms:*:${a}:key/*`),
        conditions: { StringLike: { 'kms:ViaService': 'rds.*.amazonaws.com' } },
      },
      "The Live share keys' ids are not known in this account; only keys of the allowed Live accounts, only through RDS, and their key policies grant this account nothing else.",
    );
    // RDS's service-linked role, through which RDS authorises a cross-region copy; a Failsafe
    // account that never had a DB instance has none, and the first caller that needs it must be
    // allowed to create it — exactly it (RDS User Guide, "Using service-linked roles").
    createRdsServiceLinkedRole(f.SaveFunctionArn);
    describeSnapshots(f.WaitAvailableFunctionArn);
    describeSnapshots(f.VerifyFunctionArn);
    f.VerifyFunctionArn.allow(
      {
        // adds the verified tag to a managed copy, nothing else
        actions: ['rds:AddTagsToResource'],
        resources: ownCopies,
        conditions: { ...managedOnly, 'ForAllValues:StringEquals': { 'aws:TagKeys': [VERIFIED_TAG] }, Null: { 'aws:TagKeys': 'false' } },
      },
      OWN_COPIES,
    );
    describeSnapshots(f.PruneFunctionArn);
    f.PruneFunctionArn.allow(
      {
        actions: ['rds:DeleteDBSnapshot', 'rds:DeleteDBClusterSnapshot'],
        resources: ownCopies,
        conditions: managedOnly,
      },
      OWN_COPIES,
    );

    this.machine = new ScheduledMachine(this, 'Machine', {
      asl,
      name: props.stateMachineName ?? 'rds-failsafe',
      functions: f,
      ...sched,
      scheduleDescription: 'rds-failsafe: daily backstop run of the Failsafe state machine, in case a trigger message was lost',
    });

    this.startFailsafe = new TaskFunction(this, 'StartFailsafe', {
      ...task('start-failsafe'),
      lambdaDir: props.lambdaDir,
      // A triggered run copies as many at once as the backstop schedule's runs (maxConcurrency);
      // without it the state machine's default, 5, would apply to every triggered run.
      environment: {
        ...environment,
        STATE_MACHINE_ARN: this.machine.stateMachine.stateMachineArn,
        MAX_CONCURRENCY: String(sched.maxConcurrency),
      },
      timeout: Duration.seconds(30),
    });
    this.machine.stateMachine.grantStartExecution(this.startFailsafe.role);
    this.topic.addSubscription(new subs.LambdaSubscription(this.startFailsafe.function));

    this.alerts.watchExecutions(this.machine.stateMachine, 'Failsafe');
    // Dead-man's switch. The roll-up has no dimensions and is the worst source's age; each run
    // writes one point. 24 hourly periods, all breaching or missing, means no run in a day
    // reported every source fresh: a stale copy, a failing prune, or nothing running at all.
    this.copyAgeAlarm = new cloudwatch.Alarm(this.alerts, 'NewestCopyAge', {
      alarmDescription:
        `rds-failsafe: for 24 hours no Failsafe run reported every source's newest verified copy at most ${maxAge} h old ` +
        `(or no run reported at all). Check the Live and Failsafe executions; the per-source metric ${COPY_AGE_METRIC.metricName} ` +
        `with dimensions SourceAccount, SourceId names the stale source.`,
      metric: new cloudwatch.Metric({ ...COPY_AGE_METRIC, statistic: 'Maximum', period: Duration.hours(1) }),
      threshold: maxAge,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 24,
      datapointsToAlarm: 24,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.alerts.notify(this.copyAgeAlarm);
    if (props.restoreDrill) {
      this.drill = this.buildDrill(props.restoreDrill, props, ownCopies);
    }
    this.dashboard = this.buildDashboard(maxAge, (props.stateMachineName ?? 'rds-failsafe').replace(/[^-_A-Za-z0-9]/g, '-'));
  }

  /** Drill results per source (passed / failed) and restore times. */
  private drillWidgets(): cloudwatch.IWidget[] {
    const search = (metric: string, stat: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${DRILL_METRICS.namespace},SourceAccount,SourceId} MetricName="${metric}"', '${stat}', 86400)`,
        label: '',
        period: Duration.days(1),
      });
    return [
      new cloudwatch.GraphWidget({
        title: 'Restore drills failed per source',
        width: 8,
        left: [search(DRILL_METRICS.failed, 'Sum')],
        leftYAxis: { min: 0 },
      }),
      new cloudwatch.GraphWidget({
        title: 'Restore drills passed per source',
        width: 8,
        left: [search(DRILL_METRICS.passed, 'Sum')],
        leftYAxis: { min: 0 },
      }),
      new cloudwatch.GraphWidget({
        title: 'Restore time per source (seconds)',
        width: 8,
        left: [search(DRILL_METRICS.seconds, 'Maximum')],
        leftYAxis: { min: 0 },
      }),
    ];
  }

  /** The drill's functions, their narrow roles, its state machine, schedule and alarms. */
  private buildDrill(d: RestoreDrillProps, props: FailsafeAccountProps, ownCopies: string[]) {
    const { account, region } = concreteEnv(this);
    const environment = drillEnv(d, region);
    const asl = readAsl('drill.asl.json');
    const scope = new Construct(this, 'Drill');
    const f = taskFunctionsFor(scope, asl, 'drill', { lambdaDir: props.lambdaDir, environment });
    const drillDbs = [rdsArn(this, account, region, 'db:rdsf-drill-*'), rdsArn(this, account, region, 'cluster:rdsf-drill-*')];
    const drillTagged = { StringEquals: { [`aws:ResourceTag/${DRILL_TAG}`]: 'true' } };
    const why =
      'Only databases named rdsf-drill-* (every database a drill makes) in this account and region; deletes are further conditioned on the rds-failsafe:drill=true tag, creation on carrying it.';
    describeSnapshots(f.SelectDrillsFunctionArn);
    f.SelectDrillsFunctionArn.allow(
      { actions: ['rds:DescribeOrderableDBInstanceOptions'], resources: ['*'] },
      'Read-only Describe calls: rds:DescribeOrderableDBInstanceOptions (which DB instance classes RDS offers a copy\'s engine version here, so that a drill restores as the smallest one) has no resource type; RDS authorises it against "*".',
    );
    const readDbs = (t: TaskFunction) =>
      t.allow({ actions: ['rds:DescribeDBInstances', 'rds:DescribeDBClusters'], resources: drillDbs }, why);
    // restore: from the tool's own copies, into rdsf-drill-* tagged drill=true, in the drill's subnet group
    f.RestoreDrillFunctionArn.allow(
      {
        actions: ['rds:RestoreDBInstanceFromDBSnapshot', 'rds:RestoreDBClusterFromSnapshot', 'rds:CreateDBInstance'],
        resources: [
          ...drillDbs,
          ...ownCopies,
          rdsArn(this, account, region, `subgrp:${environment.DRILL_SUBNET_GROUP.toLowerCase()}`),
          rdsArn(this, account, region, 'pg:default.*'),
          rdsArn(this, account, region, 'og:default:*'),
          rdsArn(this, account, region, 'cluster-pg:default.*'),
        ],
        conditions: { StringEquals: { [`aws:RequestTag/${DRILL_TAG}`]: 'true' } },
      },
      `${why} The snapshots are this tool's rdsf-* copies; the parameter and option groups are RDS's defaults for the engine.`,
    );
    // tags on create: only on the drill's own databases, only its two keys (never on a copy)
    f.RestoreDrillFunctionArn.allow(
      {
        actions: ['rds:AddTagsToResource'],
        resources: drillDbs,
        conditions: {
          StringEquals: { [`aws:RequestTag/${DRILL_TAG}`]: 'true' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [DRILL_TAG, RESTORED_FROM_TAG] },
          Null: { 'aws:TagKeys': 'false' },
        },
      },
      why,
    );
    readDbs(f.RestoreDrillFunctionArn);
    // a restore needs RDS's service-linked role, which an account without databases lacks
    createRdsServiceLinkedRole(f.RestoreDrillFunctionArn);
    f.RestoreDrillFunctionArn.allow({
      // RDS User Guide, "Authorizing use of a customer managed key": CreateGrant and DescribeKey
      // to create a resource under the key; Decrypt for the snapshot's data key
      actions: ['kms:CreateGrant', 'kms:DescribeKey', 'kms:Decrypt'],
      resources: [this.failsafeKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `rds.${region}.amazonaws.com` } },
    });
    readDbs(f.CheckDrillFunctionArn);
    readDbs(f.EndDrillFunctionArn);
    f.EndDrillFunctionArn.allow(
      { actions: ['rds:DeleteDBInstance', 'rds:DeleteDBCluster'], resources: drillDbs, conditions: drillTagged },
      why,
    );
    f.EndDrillFunctionArn.allow(
      {
        actions: ['rds:AddTagsToResource'],
        resources: ownCopies,
        conditions: {
          ...managedOnly,
          'ForAllValues:StringEquals': { 'aws:TagKeys': [RESTORE_TESTED_TAG] },
          Null: { 'aws:TagKeys': 'false' },
        },
      },
      OWN_COPIES,
    );

    const sched = scheduleProps(d.schedule, props.scheduleTimeZone, 1, 'cron(0 6 ? * SUN *)');
    const name = `${props.stateMachineName ?? 'rds-failsafe'}-drill`;
    const machine = new ScheduledMachine(scope, 'Machine', {
      asl,
      name,
      functions: f,
      ...sched,
      scheduleDescription: 'rds-failsafe: restore drill, proves the newest verified copies restore',
    });
    this.alerts.watchExecutions(machine.stateMachine, 'restore drill', 'Drill');
    const failedAlarm = new cloudwatch.Alarm(this.alerts, 'DrillFailed', {
      alarmDescription: `rds-failsafe: a restore drill failed. The drill execution (${name}) ends with RestoreDrillFailed (a verified copy did not restore; its database was deleted), DrillCleanupFailed (the drill's database, named in the cause, is left behind: delete it) or DrillChildFailed (a drill stopped before its clean-up: look for rdsf-drill-* databases tagged rds-failsafe:drill=true); every drill was tried and each one's record is in the execution's output.`,
      metric: new cloudwatch.Metric({
        namespace: DRILL_METRICS.namespace,
        metricName: DRILL_METRICS.failed,
        statistic: 'Sum',
        period: Duration.hours(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alerts.notify(failedAlarm);
    return { machine, functions: f, failedAlarm };
  }

  /**
   * One page for the operator: every source's newest verified copy age against the threshold
   * (a SEARCH, so a new source appears without a deploy), copies saved and failed per run, the
   * executions, the alarms, and the drills when they are on.
   */
  private buildDashboard(maxAge: number, name: string): cloudwatch.Dashboard {
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
    const m = this.machine.stateMachine;
    return new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${name}-failsafe`,
      defaultInterval: Duration.days(14),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Newest verified copy age per source (hours)',
            width: 24,
            left: [
              new cloudwatch.MathExpression({
                expression: `SEARCH('{${namespace},SourceAccount,SourceId} MetricName="${metricName}"', 'Maximum', 3600)`,
                label: '',
                period: Duration.hours(1),
              }),
            ],
            leftAnnotations: [threshold],
            leftYAxis: { min: 0, label: 'hours' },
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
        ...(this.drill ? [this.drillWidgets()] : []),
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            width: 24,
            alarms: [this.copyAgeAlarm, ...(this.drill ? [this.drill.failedAlarm] : [])],
          }),
        ],
      ],
    });
  }
}
