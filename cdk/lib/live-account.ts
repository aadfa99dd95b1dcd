import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { AlertChannel } from './alerts';
import { readAsl } from './asl';
import {
  concreteEnv,
  createdManaged,
  DEFAULT_TOPIC_NAME,
  describeSnapshots,
  managedOnly,
  OWN_COPIES,
  ownCopyArns,
  ScheduledRunProps,
  rdsArn,
  readSnapshotQuota,
  ScheduledMachine,
  copyThroughput,
  scheduleProps,
  taskFunctionsFor,
} from './common';
import { TaskFunction } from './task-function';
import { CONTRACT } from './contract';
import { accountId, boolean, ConfigError, region, setting, topicName } from './validation';

/** Sources snapshotted more often than the daily run: an RPO under a day. */
export interface SnapshotCadence {
  /** Selectors, as `sources` (the sources they select must be protected, i.e. in `sources` too). */
  readonly sources: string[];
  /** Hours between snapshots: 1, 2, 3, 4, 6, 8 or 12 (a divisor of 24, so each day has the same times). */
  readonly everyHours: number;
}

/** Sources whose copies are waited for longer than their size says. */
export interface SourceCopyWait {
  /** Selectors, as `sources` (the sources they select must be protected, i.e. in `sources` too). */
  readonly sources: string[];
  /** Each copy of them is waited for at least this long, 1–72,000 s (20 h: what one run can wait). */
  readonly maxWaitSeconds: number;
}

/** The most a run waits for one copy (`policy::copy_time::WAIT_CEILING_SECONDS`; the ASL's `BadMaxWaitSeconds`). */
export const WAIT_CEILING_SECONDS = 72000;

/** Each entry one selector (the Lambdas read a comma-separated list), or a ConfigError naming it. */
function selectors(field: string, list: unknown[]): void {
  list.forEach((s, i) => {
    if (typeof s !== 'string' || s.trim() === '' || s.includes(',')) {
      throw new ConfigError(
        `${field}[${i}]`,
        `${JSON.stringify(s)} must be one non-empty selector without commas (one array entry per selector)`,
      );
    }
  });
}

/** A list of `{sources, ...}` groups (`cadences`, `copyWaits`), each with selectors, or a ConfigError naming the entry. */
function selectorGroups<T extends { sources: string[] }>(field: string, groups: T[] | undefined, example: string): T[] {
  const list = groups ?? [];
  if (!Array.isArray(list)) {
    throw new ConfigError(field, `give a list, e.g. ${example}`);
  }
  list.forEach((g, i) => {
    if (!Array.isArray(g?.sources) || g.sources.length === 0) {
      throw new ConfigError(`${field}[${i}].sources`, 'list the selectors of its sources, e.g. ["orders"]');
    }
    selectors(`${field}[${i}].sources`, g.sources);
  });
  return list;
}

/** Hours a cadence may run every: divisors of 24, so each day has the same times. */
export const CADENCE_HOURS = [1, 2, 3, 4, 6, 8, 12];

/**
 * The schedule of a cadence's runs: every `everyHours` from the daily run's time, the daily run's
 * own hour left out (that run takes the day's snapshot). `daily` must be a daily `cron(M H * * ? *)`.
 */
export function cadenceSchedule(field: string, daily: string, everyHours: number): string {
  if (!CADENCE_HOURS.includes(everyHours)) {
    throw new ConfigError(
      `${field}.everyHours`,
      `${JSON.stringify(everyHours)} must be one of ${CADENCE_HOURS.join(', ')} (a divisor of 24)`,
    );
  }
  const m = /^cron\((\d{1,2}) (\d{1,2}) \* \* \? \*\)$/.exec(daily);
  if (!m) {
    throw new ConfigError(
      field,
      `a cadence runs every few hours from the daily Live run's time, so liveSchedule must be a daily cron(M H * * ? *); it is ${daily}`,
    );
  }
  const [minute, hour] = [Number(m[1]), Number(m[2])];
  const hours = Array.from({ length: 24 / everyHours - 1 }, (_, k) => (hour + (k + 1) * everyHours) % 24).sort((a, b) => a - b);
  return `cron(${minute} ${hours.join(',')} * * ? *)`;
}

/** A Failsafe account the share copies go to, and where its trigger topic lives. */
export interface FailsafeTarget {
  readonly account: string;
  /** Region of the Failsafe account's topic and copies. Default: this stack's region. */
  readonly region?: string;
  /** Default: `rds-failsafe`, the FailsafeAccount construct's default. */
  readonly topicName?: string;
}

export interface LiveAccountProps extends ScheduledRunProps {
  /**
   * Which databases to protect: `all`, `<id>`, `instance:<id>`, `cluster:<id>`,
   * `tag:<key>=<value>` or `pattern:<glob>`. The Lambdas parse these at cold start.
   */
  readonly sources: string[];
  /**
   * Selectors of the sources whose own snapshot (`CreateDBSnapshot`) is shared instead of a share
   * copy: a Failsafe copy of a share copy is always full, of a snapshot that is not a copy it can
   * be incremental. For databases on a customer-managed key whose policy lets the Failsafe
   * account(s) use it (preflight checks), or unencrypted; one on `aws/rds` keeps the share copy.
   * Default: none.
   */
  readonly incrementalSources?: string[];
  /**
   * Sources snapshotted every few hours besides the daily run: each cadence is a schedule of its
   * own that starts the Live machine with its selectors and `takeSnapshots` (each run takes and
   * shares a snapshot of the database, as for an incremental source). Its sources are incremental
   * sources in the daily run too. Default: none.
   */
  readonly cadences?: SnapshotCadence[];
  /**
   * Sources whose copies are waited for at least `maxWaitSeconds`, whatever their size says: an
   * Aurora cluster (RDS reports no cluster snapshot's size, so its copies are otherwise waited
   * for `maxWaitSeconds`), or a source whose copies are slower than `copyThroughputMiBps` (a
   * `CopyTimeout` cause gives the figure). The Failsafe stack of the same app waits as long for
   * the copies of the sources named by identifier. Default none.
   */
  readonly copyWaits?: SourceCopyWait[];
  /** 1 to 20 Failsafe accounts (RDS shares a snapshot with at most 20 accounts). */
  readonly failsafe: FailsafeTarget[];
  /** Default `cron(0 5 * * ? *)`: daily at 05:00. */
  readonly schedule?: string;
  /** Older share copies kept per source in this account besides today's, 1–50. Default 2. */
  readonly liveKeep?: number;
  /** Encrypt unencrypted DB instance snapshots with the share key. Default false. */
  readonly encryptUnencrypted?: boolean;
  /** Default `rds-failsafe-live`. */
  readonly stateMachineName?: string;
}

/**
 * Everything rds-failsafe needs in a Live account: the seven task Lambdas with a role each, the share
 * key only the Failsafe account(s) may use (through RDS), the Live state machine, its daily
 * schedule and alarms.
 */
export class LiveAccount extends Construct {
  readonly shareKey: kms.Key;
  readonly machine: ScheduledMachine;
  readonly functions: Record<string, TaskFunction>;
  readonly alerts: AlertChannel;
  readonly failsafeTopicArns: string[];

  constructor(scope: Construct, id: string, props: LiveAccountProps) {
    super(scope, id);
    const { account, region: liveRegion } = concreteEnv(this);
    const partition = Stack.of(this).partition;

    if (!Array.isArray(props.sources) || props.sources.length === 0) {
      throw new ConfigError(
        'sources',
        'no sources given; list what to protect, e.g. ["orders", "cluster:billing", "tag:backup=failsafe"] or ["all"]',
      );
    }
    selectors('sources', props.sources);
    const incrementalSources = props.incrementalSources ?? [];
    if (!Array.isArray(incrementalSources)) {
      throw new ConfigError('incrementalSources', 'give a list of selectors, e.g. ["orders", "tag:failsafe-mode=incremental"]');
    }
    selectors('incrementalSources', incrementalSources);
    const cadences = selectorGroups('cadences', props.cadences, '[{"sources": ["orders"], "everyHours": 4}]');
    const copyWaits = selectorGroups('copyWaits', props.copyWaits, '[{"sources": ["ledger"], "maxWaitSeconds": 43200}]');
    copyWaits.forEach((w, i) => {
      if (!Number.isInteger(w.maxWaitSeconds) || w.maxWaitSeconds < 1 || w.maxWaitSeconds > WAIT_CEILING_SECONDS) {
        throw new ConfigError(
          `copyWaits[${i}].maxWaitSeconds`,
          `${JSON.stringify(w.maxWaitSeconds)} must be a whole number of seconds, 1 to ${WAIT_CEILING_SECONDS} (20 h: what one run can wait)`,
        );
      }
    });
    const snapshotted = [...new Set([...incrementalSources, ...cadences.flatMap((c) => c.sources)].map((s) => s.trim()))];
    if (!Array.isArray(props.failsafe) || props.failsafe.length === 0 || props.failsafe.length > 20) {
      throw new ConfigError(
        'failsafe',
        'give 1 to 20 Failsafe accounts, e.g. [{ account: "222222222222" }] (RDS shares a snapshot with at most 20 accounts)',
      );
    }
    const targets = props.failsafe.map((t, i) => {
      const acct = accountId(`failsafe[${i}].account`, t.account);
      if (acct === account) {
        throw new ConfigError(
          `failsafe[${i}].account`,
          `${acct} is the Live account itself; the Failsafe account must be a different account, or whoever can delete the databases can delete the copies`,
        );
      }
      return {
        account: acct,
        region: region(`failsafe[${i}].region`, t.region ?? liveRegion),
        topicName: topicName(`failsafe[${i}].topicName`, t.topicName ?? DEFAULT_TOPIC_NAME),
      };
    });
    if (new Set(targets.map((t) => t.account)).size !== targets.length) {
      throw new ConfigError('failsafe', 'an account is listed twice; list each Failsafe account once');
    }
    const sched = scheduleProps(props.schedule, props.scheduleTimeZone, props.maxConcurrency, 'cron(0 5 * * ? *)');
    const liveKeep = setting(
      'liveKeep',
      props.liveKeep,
      CONTRACT.settings.liveKeep,
      'older share copies kept per source in the Live account',
    );
    const encryptUnencrypted = boolean('encryptUnencrypted', props.encryptUnencrypted ?? false);
    this.alerts = new AlertChannel(this, 'Alerts', props.alerts, 'alerts');

    this.failsafeTopicArns = targets.map((t) => `arn:${partition}:sns:${t.region}:${t.account}:${t.topicName}`);
    const rdsServices = [...new Set([liveRegion, ...targets.map((t) => t.region)])].map((r) => `rds.${r}.amazonaws.com`);

    this.shareKey = new kms.Key(this, 'ShareKey', {
      description: 'rds-failsafe: encrypts the share copies; the Failsafe account(s) may use it only through RDS to copy them',
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      // Share copies in flight (and the Failsafe side's next copy) need it after a stack is removed.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const failsafePrincipals = targets.map((t) => new iam.AccountPrincipal(t.account));
    this.shareKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'FailsafeAccountsReadShareCopiesThroughRds',
        principals: failsafePrincipals,
        actions: ['kms:Decrypt', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': rdsServices } },
      }),
    );
    this.shareKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'FailsafeAccountsLetRdsCopyShareCopies',
        principals: failsafePrincipals,
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:ViaService': rdsServices },
          Bool: { 'kms:GrantIsForAWSResource': 'true' },
        },
      }),
    );

    const asl = readAsl('live.asl.json');
    this.functions = taskFunctionsFor(this, asl, 'live', {
      lambdaDir: props.lambdaDir,
      environment: {
        REGION: liveRegion,
        FAILSAFE_ACCOUNTS: targets.map((t) => t.account).join(','),
        FAILSAFE_TOPIC_ARNS: this.failsafeTopicArns.join(','),
        SHARE_KMS_KEY_ARN: this.shareKey.keyArn,
        SOURCES: props.sources.map((s) => s.trim()).join(','),
        // a cadence's sources are snapshotted by the daily run too, so that every Failsafe copy
        // of them builds on the one before
        ...(snapshotted.length > 0 ? { INCREMENTAL_SOURCES: snapshotted.join(',') } : {}),
        // what each cadence snapshots and how often: preflight sizes the quota and checks that
        // the copies keep up by it (the schedules themselves are EventBridge's)
        ...(cadences.length > 0
          ? { CADENCES: JSON.stringify(cadences.map((c) => ({ everyHours: c.everyHours, sources: c.sources.map((s) => s.trim()) }))) }
          : {}),
        ...(copyWaits.length > 0
          ? {
              COPY_WAITS: JSON.stringify(
                copyWaits.map((w) => ({ maxWaitSeconds: w.maxWaitSeconds, sources: w.sources.map((s) => s.trim()) })),
              ),
            }
          : {}),
        LIVE_KEEP: String(liveKeep),
        ENCRYPT_UNENCRYPTED: String(encryptUnencrypted),
      },
      configFields: {
        SOURCES: {
          field: 'sources',
          fix: 'Select sources by tag ("tag:backup=failsafe") or by pattern ("orders-*") instead of listing each one, or split them over two deployments.',
        },
        INCREMENTAL_SOURCES: {
          field: 'incrementalSources',
          fix: 'Select the incremental sources by tag ("tag:failsafe-mode=incremental") instead of listing each one.',
        },
        CADENCES: {
          field: 'cadences',
          fix: 'Select a cadence\'s sources by tag ("tag:failsafe-cadence=4h") instead of listing each one.',
        },
        COPY_WAITS: {
          field: 'copyWaits',
          fix: 'Select the sources by tag ("tag:failsafe-wait=long") instead of listing each one.',
        },
        FAILSAFE_ACCOUNTS: { field: 'failsafe' },
        FAILSAFE_TOPIC_ARNS: { field: 'failsafe' },
      },
    });
    const f = this.functions;
    const ownCopies = ownCopyArns(this, account, liveRegion);
    const viaRds = { StringEquals: { 'kms:ViaService': `rds.${liveRegion}.amazonaws.com` } };

    f.SelectSourcesFunctionArn.allow(
      {
        actions: ['rds:DescribeDBInstances', 'rds:DescribeDBClusters'],
        resources: [rdsArn(this, account, liveRegion, 'db:*'), rdsArn(this, account, liveRegion, 'cluster:*')],
      },
      'Read-only: the sources are chosen by selectors (all, tags, patterns) at run time, so every instance and cluster of this account and region is listed.',
    );
    // preflight reads, never changes: the sources (backups, option groups), this account's share
    // copies and quota, the share key's state and policy, the Failsafe topics' policies
    f.PreflightFunctionArn.allow(
      {
        actions: ['rds:DescribeDBInstances', 'rds:DescribeDBClusters'],
        resources: [rdsArn(this, account, liveRegion, 'db:*'), rdsArn(this, account, liveRegion, 'cluster:*')],
      },
      'Read-only: the selected sources are read back (automated backups, option groups); every instance and cluster of this account and region is listed.',
    );
    describeSnapshots(f.PreflightFunctionArn, 'rds:DescribeOptionGroups');
    readSnapshotQuota(f.PreflightFunctionArn);
    f.PreflightFunctionArn.allow({ actions: ['kms:DescribeKey', 'kms:GetKeyPolicy'], resources: [this.shareKey.keyArn] });
    const takesSnapshots = snapshotted.length > 0;
    if (takesSnapshots) {
      f.PreflightFunctionArn.allow(
        { actions: ['kms:DescribeKey', 'kms:GetKeyPolicy'], resources: [`arn:${partition}:kms:${liveRegion}:${account}:key/*`] },
        "Read-only, incremental sources and cadences only: whether each one's own key lets the Failsafe account(s) use it; the databases' keys are not known at deploy time.",
      );
    }
    f.PreflightFunctionArn.allow({ actions: ['sns:GetTopicAttributes'], resources: this.failsafeTopicArns });
    describeSnapshots(f.DeleteOldCopiesFunctionArn);
    readSnapshotQuota(f.DeleteOldCopiesFunctionArn);
    f.DeleteOldCopiesFunctionArn.allow(
      {
        actions: ['rds:DeleteDBSnapshot', 'rds:DeleteDBClusterSnapshot'],
        resources: ownCopies,
        conditions: managedOnly,
      },
      OWN_COPIES,
    );
    describeSnapshots(f.CopyLatestFunctionArn, 'rds:DescribeOptionGroups');
    f.CopyLatestFunctionArn.allow(
      {
        // from an automated snapshot (rds:...) of this account to a new managed share copy
        actions: ['rds:CopyDBSnapshot', 'rds:CopyDBClusterSnapshot'],
        resources: [
          rdsArn(this, account, liveRegion, 'snapshot:rds:*'),
          rdsArn(this, account, liveRegion, 'cluster-snapshot:rds:*'),
          ...ownCopies,
        ],
        conditions: createdManaged,
      },
      'From any automated snapshot (rds:*) of this account and region, the sources being chosen at run time, to a new rdsf-* share copy; the request must tag it rds-failsafe:managed=true.',
    );
    f.CopyLatestFunctionArn.allow({ actions: ['rds:AddTagsToResource'], resources: ownCopies, conditions: createdManaged }, OWN_COPIES);
    if (takesSnapshots) {
      f.CopyLatestFunctionArn.allow(
        {
          // incremental mode: a snapshot of the database itself, shared as it is
          actions: ['rds:CreateDBSnapshot', 'rds:CreateDBClusterSnapshot'],
          resources: [rdsArn(this, account, liveRegion, 'db:*'), rdsArn(this, account, liveRegion, 'cluster:*'), ...ownCopies],
          conditions: createdManaged,
        },
        'Incremental sources and cadences only: of any database of this account and region (they are chosen by selectors at run time) to a new rdsf-* snapshot; the request must tag it rds-failsafe:managed=true.',
      );
      f.CopyLatestFunctionArn.allow(
        { actions: ['kms:DescribeKey'], resources: [`arn:${partition}:kms:${liveRegion}:${account}:key/*`] },
        "Read-only, incremental sources and cadences only: whether a database's key is customer-managed (RDS cannot share a snapshot under aws/rds); the databases' keys are not known at deploy time.",
      );
    }
    f.CopyLatestFunctionArn.allow(
      {
        // the source snapshots' keys (aws/rds or the databases' own keys), used only by RDS
        actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:CreateGrant'],
        resources: [`arn:${partition}:kms:${liveRegion}:${account}:key/*`],
        conditions: viaRds,
      },
      "The databases' own keys (aws/rds or customer keys) are not known at deploy time; only this account and region, and only through RDS (kms:ViaService).",
    );
    f.CopyLatestFunctionArn.allow(
      {
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey', 'kms:CreateGrant'],
        resources: [this.shareKey.keyArn],
        conditions: viaRds,
      },
      'GenerateDataKey* and ReEncrypt* are the action families RDS uses to re-encrypt a copy under the share key; only that key, only through RDS.',
    );
    describeSnapshots(f.WaitAvailableFunctionArn);
    describeSnapshots(f.ShareFunctionArn);
    f.ShareFunctionArn.allow(
      {
        actions: ['rds:DescribeDBSnapshotAttributes', 'rds:DescribeDBClusterSnapshotAttributes'],
        resources: ownCopies,
      },
      OWN_COPIES,
    );
    f.ShareFunctionArn.allow(
      {
        actions: ['rds:ModifyDBSnapshotAttribute', 'rds:ModifyDBClusterSnapshotAttribute'],
        resources: ownCopies,
        conditions: managedOnly,
      },
      OWN_COPIES,
    );
    f.NotifyFunctionArn.allow({ actions: ['sns:Publish'], resources: this.failsafeTopicArns });
    for (const t of targets) {
      f.NotifyFunctionArn.allow(
        {
          // the Failsafe topics are encrypted with a key of the Failsafe account
          actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
          resources: [`arn:${partition}:kms:${t.region}:${t.account}:key/*`],
          conditions: { StringEquals: { 'kms:ViaService': `sns.${t.region}.amazonaws.com` } },
        },
        "The Failsafe topic's key is created in the Failsafe account and its id is not known here; only that account's keys in the topic's region, only through SNS. GenerateDataKey* is what SNS uses to encrypt a message.",
      );
    }

    this.machine = new ScheduledMachine(this, 'Machine', {
      asl,
      name: props.stateMachineName ?? 'rds-failsafe-live',
      functions: f,
      ...sched,
      copyThroughputMiBps: copyThroughput(props.copyThroughputMiBps),
      scheduleDescription: 'rds-failsafe: daily share copy of the newest automated snapshot of each source',
    });
    cadences.forEach((c, i) => {
      this.machine.addSchedule(
        `Cadence${i}`,
        cadenceSchedule(`cadences[${i}]`, sched.scheduleExpression, c.everyHours),
        `rds-failsafe: a snapshot every ${c.everyHours} h of ${c.sources.join(', ')}`,
        { sources: c.sources.map((s) => s.trim()), takeSnapshots: true },
      );
    });
    this.alerts.watchExecutions(this.machine.stateMachine, 'Live');
  }
}
