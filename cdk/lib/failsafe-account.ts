import { Aspects, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
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
  createRdsServiceLinkedRole,
  createdManaged,
  DEFAULT_TOPIC_NAME,
  describeSnapshots,
  managedOnly,
  OWN_COPIES,
  ownCopyArns,
  readSnapshotQuota,
  ScheduledRunProps,
  ScheduledMachine,
  copyThroughput,
  scheduleProps,
  taskFunctionsFor,
  VERIFIED_TAG,
} from './common';
import { TaskFunction } from './task-function';
import { bootstrapQualifierOf, breakGlassRoleName, guardKey, ToolRolePath } from './guardrails';
import { COPY_AGE_METRIC, FailsafeDashboard } from './failsafe-dashboard';
import { RestoreDrill, RestoreDrillProps } from './restore-drill';
import { CONTRACT, task } from './contract';
import { CADENCE_HOURS, WAIT_CEILING_SECONDS } from './live-account';
import { accountList, boolean, ConfigError, integer, regionList, setting, topicName } from './validation';

/**
 * Which Failsafe copies retention keeps per source. Either grandfather-father-son counts
 * (`hourly`, `daily`, `weekly`, `monthly`; defaults 0, 7, 4, 12; `hourly` keeps the newest copy of
 * each of the last N clock hours, for sources with a cadence) or `days`: every copy whose source
 * is at most that many days old. The newest `minKeep` verified copies are kept whatever this says.
 */
export interface RetentionProps {
  readonly hourly?: number;
  readonly daily?: number;
  readonly weekly?: number;
  readonly monthly?: number;
  readonly days?: number;
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
  /**
   * The break-glass role of this account (name with its path): the Failsafe keys' policies let only
   * it and the deployment delete, disable or re-policy them. Default `rds-failsafe-break-glass`.
   */
  readonly breakGlassRole?: string;
  /** The CDK bootstrap qualifier of this account, whose roles deploy the stack. Default `hnb659fds`. */
  readonly bootstrapQualifier?: string;
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
  /**
   * Sources a Live account snapshots every few hours (its `cadences`), each watched by an alarm
   * of its own: its newest verified copy older than 2 × `everyHours` + 2 h, or not reported, for
   * two periods of `everyHours` (the dead-man's switch at the cadence). Default none.
   */
  readonly cadenceSources?: CadenceSource[];
  /**
   * Sources whose Failsafe copies are waited for at least `maxWaitSeconds` (a Live account's
   * `copyWaits`, for the sources it names by identifier): an Aurora cluster, whose size RDS does
   * not report, or a source whose copies are slower than `copyThroughputMiBps`. Default none.
   */
  readonly sourceCopyWaits?: SourceCopyWaitOf[];
  /** Default `rds-failsafe`. */
  readonly stateMachineName?: string;
  /** Opt-in restore drill; without it no drill machine, role or schedule is deployed. */
  readonly restoreDrill?: RestoreDrillProps;
}

/** A source of a Live account whose copies are waited for at least `maxWaitSeconds`. */
export interface SourceCopyWaitOf {
  readonly sourceAccount: string;
  readonly sourceId: string;
  readonly maxWaitSeconds: number;
}

/** A source a Live account snapshots every `everyHours` (its `cadences`). */
export interface CadenceSource {
  readonly sourceAccount: string;
  readonly sourceId: string;
  readonly everyHours: number;
}

/** How old a cadence source's newest verified copy may be: two cadences and two hours to copy. */
export function cadenceMaxAgeHours(everyHours: number): number {
  return 2 * everyHours + 2;
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

function retentionEnv(r: RetentionProps | undefined, minKeep: number | undefined): Record<string, string> {
  const env: Record<string, string> = {
    MIN_KEEP: String(
      setting('minKeep', minKeep, CONTRACT.settings.minKeep, 'the floor: this many newest verified copies per source are never pruned'),
    ),
  };
  const gfs = (['hourly', 'daily', 'weekly', 'monthly'] as const).filter((k) => r?.[k] !== undefined);
  if (r?.days !== undefined) {
    if (gfs.length > 0) {
      throw new ConfigError(
        'retention',
        `days and ${gfs.join(', ')} are both set; use either days (keep every copy up to that many days old) or hourly/daily/weekly/monthly counts`,
      );
    }
    env.RETENTION = String(
      setting('retention.days', r.days, CONTRACT.settings.retentionDays, 'copies whose source is at most this many days old are kept'),
    );
    return env;
  }
  const hourly = setting('retention.hourly', r?.hourly, CONTRACT.settings.keepHourly);
  const daily = setting('retention.daily', r?.daily, CONTRACT.settings.keepDaily);
  const weekly = setting('retention.weekly', r?.weekly, CONTRACT.settings.keepWeekly);
  const monthly = setting('retention.monthly', r?.monthly, CONTRACT.settings.keepMonthly);
  if (hourly + daily + weekly + monthly === 0) {
    throw new ConfigError(
      'retention',
      'hourly, daily, weekly and monthly are all 0, which keeps nothing beyond minKeep; keep at least one daily copy',
    );
  }
  return { ...env, KEEP_HOURLY: String(hourly), KEEP_DAILY: String(daily), KEEP_WEEKLY: String(weekly), KEEP_MONTHLY: String(monthly) };
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
  readonly dashboard: FailsafeDashboard;
  /** The restore drill, when `restoreDrill` is set. */
  readonly drill?: RestoreDrill;

  constructor(scope: Construct, id: string, props: FailsafeAccountProps) {
    super(scope, id);
    const { account, region } = concreteEnv(this);
    const partition = Stack.of(this).partition;
    const sources = accountList('sourceAccounts', props.sourceAccounts, 100, account, 'the Failsafe account');
    const sourceRegions = regionList('sourceRegions', props.sourceRegions ?? [region]);
    const sched = scheduleProps(props.schedule, props.scheduleTimeZone, props.maxConcurrency, 'cron(0 11 * * ? *)');
    const throughput = copyThroughput(props.copyThroughputMiBps);
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
    const breakGlassRole = breakGlassRoleName('breakGlassRole', props.breakGlassRole);
    const bootstrapQualifier = bootstrapQualifierOf('bootstrapQualifier', props.bootstrapQualifier);
    // every role of the stack gets the path the guardrails exempt and protect (cdk/lib/guardrails.ts);
    // the stack's, as the schedules' role is made at the stack's level
    Aspects.of(Stack.of(this)).add(new ToolRolePath());
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

    const copyWaits = (props.sourceCopyWaits ?? []).map((w, i) => {
      const ok =
        sources.includes(w.sourceAccount) &&
        /^[a-z0-9-]+$/.test(w.sourceId) &&
        Number.isInteger(w.maxWaitSeconds) &&
        w.maxWaitSeconds >= 1 &&
        w.maxWaitSeconds <= WAIT_CEILING_SECONDS;
      if (!ok) {
        throw new ConfigError(
          `sourceCopyWaits[${i}]`,
          `${JSON.stringify(w)} must name a source of an allowed Live account (${sources.join(', ')}) by its lower-case id, with maxWaitSeconds 1 to ${WAIT_CEILING_SECONDS}`,
        );
      }
      return `${w.sourceAccount}:${w.sourceId}=${w.maxWaitSeconds}`;
    });
    const asl = readAsl('failsafe.asl.json');
    const environment = {
      REGION: region,
      SOURCE_ACCOUNTS: sources.join(','),
      SOURCE_REGIONS: sourceRegions.join(','),
      FAILSAFE_KMS_KEY_ARN: this.failsafeKey.keyArn,
      ENCRYPT_UNENCRYPTED: String(encryptUnencrypted),
      ...retention,
      ...(retired.length > 0 ? { RETIRED_SOURCES: retired.join(',') } : {}),
      ...(copyWaits.length > 0 ? { SOURCE_COPY_WAITS: copyWaits.join(',') } : {}),
    };
    this.functions = taskFunctionsFor(this, asl, 'failsafe', {
      lambdaDir: props.lambdaDir,
      environment,
      configFields: {
        SOURCE_ACCOUNTS: { field: 'sourceAccounts' },
        SOURCE_REGIONS: { field: 'sourceRegions' },
        RETIRED_SOURCES: { field: 'retiredSources' },
        SOURCE_COPY_WAITS: { field: 'copyWaits' },
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
        // never a held copy: `prune` keeps it, and its role could not delete it anyway
        conditions: { ...managedOnly, Null: { [`aws:ResourceTag/${CONTRACT.tags.hold}`]: 'true' } },
      },
      OWN_COPIES,
    );

    this.machine = new ScheduledMachine(this, 'Machine', {
      asl,
      name: props.stateMachineName ?? 'rds-failsafe',
      functions: f,
      ...sched,
      copyThroughputMiBps: throughput,
      scheduleDescription: 'rds-failsafe: daily backstop run of the Failsafe state machine, in case a trigger message was lost',
    });

    this.startFailsafe = new TaskFunction(this, 'StartFailsafe', {
      ...task('start-failsafe'),
      lambdaDir: props.lambdaDir,
      // A triggered run copies as many at once as the backstop schedule's runs (maxConcurrency),
      // and sizes its waits by the same throughput; without them the state machine's defaults
      // (5, 100) would apply to every triggered run.
      environment: {
        ...environment,
        STATE_MACHINE_ARN: this.machine.stateMachine.stateMachineArn,
        MAX_CONCURRENCY: String(sched.maxConcurrency),
        COPY_THROUGHPUT_MIBPS: String(throughput),
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
    // The dead-man's switch at each cadence: the per-source age prune writes every run, one
    // point per run; a period of the cadence without a point (no run reported it) breaches.
    (props.cadenceSources ?? []).forEach((c, i) => {
      if (!sources.includes(c.sourceAccount) || !/^[a-z0-9-]+$/.test(c.sourceId) || !CADENCE_HOURS.includes(c.everyHours)) {
        throw new ConfigError(
          `cadenceSources[${i}]`,
          `${JSON.stringify(c)} must name a source of an allowed Live account (${sources.join(', ')}) by its lower-case id, every ${CADENCE_HOURS.join(', ')} hours`,
        );
      }
      const limit = cadenceMaxAgeHours(c.everyHours);
      const alarm = new cloudwatch.Alarm(this.alerts, `CadenceCopyAge${i}`, {
        alarmDescription:
          `rds-failsafe: ${c.sourceAccount}:${c.sourceId} is snapshotted every ${c.everyHours} h, but for ${2 * c.everyHours} h ` +
          `no Failsafe run reported its newest verified copy at most ${limit} h old (or no run reported it at all).`,
        metric: new cloudwatch.Metric({
          ...COPY_AGE_METRIC,
          dimensionsMap: { SourceAccount: c.sourceAccount, SourceId: c.sourceId },
          statistic: 'Maximum',
          period: Duration.hours(c.everyHours),
        }),
        threshold: limit,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      this.alerts.notify(alarm);
    });
    if (props.restoreDrill) {
      this.drill = new RestoreDrill(this, 'Drill', {
        drill: props.restoreDrill,
        failsafeKey: this.failsafeKey,
        ownCopies,
        alerts: this.alerts,
        lambdaDir: props.lambdaDir,
        scheduleTimeZone: props.scheduleTimeZone,
        stateMachineName: props.stateMachineName,
      });
    }
    this.dashboard = new FailsafeDashboard(this, 'Dashboard', {
      maxAge,
      name: (props.stateMachineName ?? 'rds-failsafe').replace(/[^-_A-Za-z0-9]/g, '-'),
      stateMachine: this.machine.stateMachine,
      copyAgeAlarm: this.copyAgeAlarm,
      drill: this.drill,
    });
    // Every key of this account (the Failsafe key, the topic's, the alerts'): only the deployment
    // and break-glass may delete, disable or re-policy it, with or without an Organization.
    for (const key of this.node.findAll().filter((c): c is kms.Key => c instanceof kms.Key)) {
      guardKey(key, account, { breakGlassRole, bootstrapQualifier });
    }
  }
}
