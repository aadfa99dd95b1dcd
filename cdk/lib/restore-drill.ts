import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AlertChannel } from './alerts';
import { readAsl } from './asl';
import {
  concreteEnv,
  createRdsServiceLinkedRole,
  describeSnapshots,
  managedOnly,
  OWN_COPIES,
  perSourceSearch,
  rdsArn,
  ScheduledMachine,
  ScheduledRunProps,
  scheduleProps,
  taskFunctionsFor,
} from './common';
import { CONTRACT } from './contract';
import { TaskFunction } from './task-function';
import { ConfigError } from './validation';

/**
 * The opt-in restore drill: a third state machine that restores the newest verified copy of a
 * source into `rdsf-drill-<source>-<stamp>` (tagged `rds-failsafe:drill=true`, never publicly
 * accessible), waits until it is available, deletes it without a final snapshot (on failure too),
 * tags the copy `rds-failsafe:restore-tested` and writes the drill metric.
 */
export interface RestoreDrillProps {
  /** A DB subnet group of this account (private subnets) the drills restore into. */
  readonly subnetGroupName: string;
  /** 1–5 security groups of that VPC for the restored databases (and, with `checks`, for validate-drill:
   * then one must let the others in on the engines' ports; without checks no inbound rule is needed). */
  readonly securityGroupIds: string[];
  /** Default weekly, `cron(0 6 ? * SUN *)`, in `scheduleTimeZone`. */
  readonly schedule?: string;
  /** `one` (default): the source drilled least recently, each run; `all`: every source, one after the other. */
  readonly sources?: 'one' | 'all';
  /** One class for every drill, instead of the smallest class RDS offers each copy's engine version. */
  readonly instanceClass?: string;
  /**
   * The restore time a drill is held to, in minutes (1–4320): one for every source, or by source
   * (`{"orders": 30, "111111111111:ledger": 120, "*": 240}`: `<live-account>:<source-id>`, then
   * `<source-id>`, then `*`). A passed drill over its target writes `DrillRtoBreached`, which alarms.
   * Default: no target.
   */
  readonly rtoMinutes?: number | Record<string, number>;
  /**
   * What each source's drill checks in its restored data (PostgreSQL, MySQL, MariaDB and their
   * Aurora editions; other engines are drilled restore-only): row counts against bounds, the
   * newest row against the copy's snapshot time, tables that must exist. E.g.
   * `[{"source": "orders", "database": "app", "checks": [{"sql": "select count(*) from orders", "min": 1000},
   * {"sql": "select max(updated_at) from orders", "maxAgeHours": 30}, {"tables": ["orders", "customers"]}]}]`.
   * With checks, `validate-drill` runs in the VPC: set `checkSubnetIds`.
   */
  readonly checks?: DrillSourceChecks[];
  /** With `checks`: 1-16 private subnets of the drill's VPC that `validate-drill` runs in, in the
   * security groups above (one of them must let the others in on the engines' ports); the subnets
   * need a route to the RDS and Secrets Manager APIs (VPC endpoints or a NAT gateway). */
  readonly checkSubnetIds?: string[];
}

/** One source's checks (`restoreDrill.checks[]`); `policy::checks::SourceChecks` of the Lambdas. */
export interface DrillSourceChecks {
  /** `<source-id>` or `<live-account>:<source-id>`. */
  readonly source: string;
  /** The database (PostgreSQL) or schema (MySQL, MariaDB) to connect to. */
  readonly database: string;
  readonly checks: Array<{ sql: string; min?: number; max?: number } | { sql: string; maxAgeHours: number } | { tables: string[] }>;
  /** Each statement's limit in seconds (default 30); all checks of a source together at most 600. */
  readonly timeoutSeconds?: number;
}

/** `checks` as `validate-drill` reads it (`DRILL_CHECKS`), its shape checked here so that a
 * mistake fails `cdk synth` naming the field; the Lambda parses it again at cold start. */
function drillChecks(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  const field = 'restoreDrill.checks';
  if (!Array.isArray(v) || v.length === 0) throw new ConfigError(field, 'must be a list of {"source", "database", "checks": [...]}');
  const ident = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
  const seen = new Set<string>();
  v.forEach((entry: any, i: number) => {
    const at = `${field}[${i}]`;
    const known = ['source', 'database', 'checks', 'timeoutSeconds'];
    const extra = Object.keys(entry ?? {}).filter((k) => !known.includes(k));
    if (extra.length) throw new ConfigError(`${at}.${extra[0]}`, `is not a setting; an entry has ${known.join(', ')}`);
    if (typeof entry.source !== 'string' || !/^(\d{12}:)?[a-z0-9-]+$/.test(entry.source)) {
      throw new ConfigError(`${at}.source`, 'must be a source as <source-id> or <live-account>:<source-id> (lower case)');
    }
    if (seen.has(entry.source)) throw new ConfigError(`${at}.source`, `${entry.source} has checks twice: one entry per source`);
    seen.add(entry.source);
    if (typeof entry.database !== 'string' || !ident.test(entry.database)) {
      throw new ConfigError(`${at}.database`, 'must name the database (PostgreSQL) or schema (MySQL, MariaDB) to connect to');
    }
    const checks = entry.checks;
    if (!Array.isArray(checks) || checks.length < 1 || checks.length > 20)
      throw new ConfigError(`${at}.checks`, 'must hold 1 to 20 checks');
    const timeout = entry.timeoutSeconds ?? 30;
    if (!Number.isInteger(timeout) || timeout < 1 || timeout * checks.length > 600) {
      throw new ConfigError(`${at}.timeoutSeconds`, `${timeout}: whole seconds, and ${checks.length} checks together at most 600 s`);
    }
    checks.forEach((c: any, j: number) => {
      const cat = `${at}.checks[${j}]`;
      const keys = Object.keys(c ?? {})
        .sort()
        .join(',');
      if (keys === 'tables') {
        if (!Array.isArray(c.tables) || c.tables.length === 0) throw new ConfigError(`${cat}.tables`, 'name the tables that must exist');
        for (const t of c.tables) {
          const parts = String(t).split('.');
          if (parts.length > 2 || !parts.every((p) => ident.test(p)))
            throw new ConfigError(`${cat}.tables`, `${JSON.stringify(t)} must be a table or schema.table`);
        }
        return;
      }
      if (!['max,sql', 'min,sql', 'max,min,sql', 'maxAgeHours,sql'].includes(keys)) {
        throw new ConfigError(cat, 'a check is {"sql", "min"/"max"}, {"sql", "maxAgeHours"} or {"tables": [...]}');
      }
      const sql = String(c.sql).trim().replace(/;$/, '').trim();
      if (!/^(select|with)[\s(]/i.test(sql) || sql.includes(';') || sql.length > 2000) {
        throw new ConfigError(`${cat}.sql`, 'must be one read query starting SELECT or WITH (no ; inside, at most 2000 characters)');
      }
      if ('maxAgeHours' in c && !(typeof c.maxAgeHours === 'number' && c.maxAgeHours > 0 && c.maxAgeHours <= 8760)) {
        throw new ConfigError(`${cat}.maxAgeHours`, 'must be hours from above 0 to 8760');
      }
      for (const b of ['min', 'max']) {
        if (b in c && !Number.isSafeInteger(c[b])) throw new ConfigError(`${cat}.${b}`, 'must be a whole number');
      }
      if ('min' in c && 'max' in c && c.min > c.max) throw new ConfigError(cat, `min ${c.min} is above max ${c.max}`);
    });
  });
  return JSON.stringify(v);
}

/** The log group of a drill machine's records (`rdsf drills --log-group` names another). */
export function drillRecordsLogGroup(drillMachineName: string): string {
  return CONTRACT.names.drillRecordsLogGroup.replace('{drillMachine}', drillMachineName);
}

/** The longest restore time target, in minutes (`RTO_MAX_MINUTES` of the Lambdas' policy). */
export const RTO_MAX_MINUTES = 4320;

/** `rtoMinutes` as the Lambdas read it (`DRILL_RTO_MINUTES`): JSON minutes by source, `*` for every other. */
function rtoTargets(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  const field = 'restoreDrill.rtoMinutes';
  const minutes = (m: unknown, at: string) => {
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > RTO_MAX_MINUTES) {
      throw new ConfigError(at, `${JSON.stringify(m)} must be whole minutes from 1 to ${RTO_MAX_MINUTES}`);
    }
    return m;
  };
  if (typeof v === 'number') return JSON.stringify({ '*': minutes(v, field) });
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).length === 0) {
    throw new ConfigError(field, `${JSON.stringify(v)} must be minutes, or minutes by source such as {"orders": 30, "*": 240}`);
  }
  const out: Record<string, number> = {};
  for (const [source, m] of Object.entries(v as Record<string, unknown>)) {
    if (source !== '*' && !/^(\d{12}:)?[a-z0-9-]+$/.test(source)) {
      throw new ConfigError(`${field}.${source}`, 'must be a source as <source-id> or <live-account>:<source-id> (lower case), or *');
    }
    out[source] = minutes(m, `${field}.${source}`);
  }
  return JSON.stringify(out);
}

/** `checkSubnetIds`: required with checks (validate-drill must reach the databases), refused without. */
function checkSubnets(v: unknown, withChecks: boolean): string[] | undefined {
  const field = 'restoreDrill.checkSubnetIds';
  if (!withChecks) {
    if (v !== undefined) throw new ConfigError(field, 'is only for restoreDrill.checks: without checks, no function runs in the VPC');
    return undefined;
  }
  if (!Array.isArray(v) || v.length < 1 || v.length > 16 || !v.every((s) => /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/.test(String(s)))) {
    throw new ConfigError(
      field,
      `${JSON.stringify(v)} must be 1-16 subnet ids (subnet-0123456789abcdef0) of the drill's VPC: with restoreDrill.checks, validate-drill connects to the restored databases from there`,
    );
  }
  return v as string[];
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
  rtoBreached: CONTRACT.metrics.drillRtoBreached,
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
  const rto = rtoTargets(d.rtoMinutes);
  if (rto !== undefined) env.DRILL_RTO_MINUTES = rto;
  return env;
}

/** What the restore drill needs of the Failsafe account it is part of (its machine is `<stateMachineName>-drill`). */
export interface RestoreDrillConstructProps extends Pick<ScheduledRunProps, 'lambdaDir' | 'scheduleTimeZone' | 'stateMachineName'> {
  /** The drill's configuration (`restoreDrill`), validated here: a bad field fails `cdk synth` naming it. */
  readonly drill: RestoreDrillProps;
  /** The Failsafe key the copies are encrypted with: a restore decrypts under it. */
  readonly failsafeKey: kms.IKey;
  /** ARN patterns of the tool's own Failsafe copies (the only snapshots a drill restores and tags). */
  readonly ownCopies: string[];
  /** Where the drill's alarms go (the Failsafe account's alert channel). */
  readonly alerts: AlertChannel;
}

/**
 * The restore drill of a Failsafe account: its five task Lambdas with narrow roles, its state
 * machine and schedule, and its alarms (on the Failsafe account's alert channel).
 */
export class RestoreDrill extends Construct {
  readonly machine: ScheduledMachine;
  readonly functions: Record<string, TaskFunction>;
  readonly failedAlarm: cloudwatch.Alarm;
  /** The drills' evidence: one JSON record per drill (`rdsf drills` lists them). */
  readonly records: logs.LogGroup;
  /** A passed drill took longer than its source's `rtoMinutes`; only with targets. */
  readonly rtoAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: RestoreDrillConstructProps) {
    super(scope, id);
    const { drill: d, ownCopies } = props;
    const { account, region } = concreteEnv(this);
    const name = `${props.stateMachineName ?? 'rds-failsafe'}-drill`;
    // the evidence: one record per drill (end-drill), kept ten years; under the guardrails nobody
    // but the deployment and break-glass can delete it or shorten its retention
    this.records = new logs.LogGroup(this, 'DrillRecords', {
      logGroupName: drillRecordsLogGroup(name),
      retention: logs.RetentionDays.TEN_YEARS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const environment: Record<string, string> = { ...drillEnv(d, region), DRILL_RECORDS_LOG_GROUP: drillRecordsLogGroup(name) };
    const asl = readAsl('drill.asl.json');
    const checks = drillChecks(d.checks);
    const subnets = checkSubnets(d.checkSubnetIds, checks !== undefined);
    const f = taskFunctionsFor(
      this,
      asl,
      'drill',
      {
        lambdaDir: props.lambdaDir,
        environment,
        configFields: {
          DRILL_CHECKS: { field: 'restoreDrill.checks', fix: 'Shorten the queries, or drop checks of some sources.' },
        },
      },
      { 'validate-drill': checks === undefined ? {} : { DRILL_CHECKS: checks } },
    );
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
      resources: [props.failsafeKey.keyArn],
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

    f.EndDrillFunctionArn.allow(
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.records.logGroupArn],
      },
      "The drills' record log group's streams (one a day) are named at run time; only that log group, only appending.",
    );
    this.validateDrill(f.ValidateDrillFunctionArn, drillDbs, drillTagged, subnets, d.securityGroupIds, why);

    const sched = scheduleProps(d.schedule, props.scheduleTimeZone, 1, 'cron(0 6 ? * SUN *)');
    const machine = new ScheduledMachine(this, 'Machine', {
      asl,
      name,
      functions: f,
      ...sched,
      scheduleDescription: 'rds-failsafe: restore drill, proves the newest verified copies restore',
    });
    props.alerts.watchExecutions(machine.stateMachine, 'restore drill', 'Drill');
    const failedAlarm = new cloudwatch.Alarm(props.alerts, 'DrillFailed', {
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
    props.alerts.notify(failedAlarm);
    if (environment.DRILL_RTO_MINUTES !== undefined) {
      this.rtoAlarm = new cloudwatch.Alarm(props.alerts, 'DrillRtoBreached', {
        alarmDescription: `rds-failsafe: a restore drill's restore took longer than the source's target (restoreDrill.rtoMinutes: ${environment.DRILL_RTO_MINUTES}): it finished late, or was still restoring when the target passed, whatever the checks then found. The drill's record in the drills' log group (rdsf drills) says which source (rtoMinutes, rtoBreached, restoreSeconds); the dashboard shows restore times per source. On the worst day a restore of it would take as long: a larger instance class, a smaller database or a longer target.`,
        metric: new cloudwatch.Metric({
          namespace: DRILL_METRICS.namespace,
          metricName: DRILL_METRICS.rtoBreached,
          statistic: 'Maximum',
          period: Duration.hours(1),
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      props.alerts.notify(this.rtoAlarm);
    }
    this.machine = machine;
    this.functions = f;
    this.failedAlarm = failedAlarm;
  }

  /**
   * validate-drill: reads the drill's databases, has RDS manage their master password (only a
   * database tagged drill=true), reads only the secrets RDS keeps for rdsf-drill-* databases
   * (RDS deletes each with its database: nothing to read once the drill is over), and, with
   * checks, runs in the drill's VPC.
   */
  private validateDrill(
    t: TaskFunction,
    drillDbs: string[],
    drillTagged: Record<string, Record<string, string>>,
    subnets: string[] | undefined,
    securityGroups: string[],
    why: string,
  ): void {
    const { account, region } = concreteEnv(this);
    const partition = Stack.of(this).partition;
    t.allow({ actions: ['rds:DescribeDBInstances', 'rds:DescribeDBClusters'], resources: drillDbs }, why);
    // only to have RDS manage the password (RDS User Guide, "Enforcing RDS management of the
    // master user password": the rds:ManageMasterUserPassword key): not to set a password of its
    // own, open the database to the internet or protect it from end-drill's deletion
    t.allow(
      {
        actions: ['rds:ModifyDBInstance', 'rds:ModifyDBCluster'],
        resources: drillDbs,
        conditions: { ...drillTagged, Bool: { 'rds:ManageMasterUserPassword': 'true' } },
      },
      `${why} Only a request that has RDS manage the master password.`,
    );
    // RDS User Guide, "Password management with Amazon RDS and AWS Secrets Manager": whoever
    // turns the management on needs kms:DescribeKey, secretsmanager:CreateSecret and TagResource
    // (RDS creates the rds!... secret, encrypted with the account's aws/secretsmanager key)
    const rdsSecrets = `arn:${partition}:secretsmanager:${region}:${account}:secret:rds!*`;
    t.allow(
      {
        actions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
        resources: [rdsSecrets],
      },
      'The secret RDS creates for a managed master password is named rds!db-<uuid> or rds!cluster-<uuid>, which nobody chooses; only names starting rds!.',
    );
    t.allow(
      { actions: ['kms:DescribeKey'], resources: [`arn:${partition}:kms:${region}:${account}:key/*`] },
      "RDS describes the key of the managed secret (the account's aws/secretsmanager key, whose id is the account's own) on the caller's behalf; DescribeKey reads nothing secret.",
    );
    // one statement per kind of database (separate Allow statements are OR'ed): a secret RDS
    // keeps for a drill instance, or for a drill cluster; the owning-service tag (an aws: tag
    // nobody but AWS can set) keeps secrets RDS did not make out
    const kinds: [string, string][] = [
      ['aws:rds:primaryDBInstanceArn', drillDbs[0]],
      ['aws:rds:primaryDBClusterArn', drillDbs[1]],
    ];
    for (const [tag, arn] of kinds) {
      t.allow(
        {
          actions: ['secretsmanager:GetSecretValue'],
          resources: [rdsSecrets],
          conditions: {
            StringEquals: { 'aws:ResourceTag/aws:secretsmanager:owningService': 'rds' },
            StringLike: { [`aws:ResourceTag/${tag}`]: arn },
          },
        },
        `Only the master secrets RDS keeps for rdsf-drill-* databases (their ${tag} tag names the database); RDS deletes each with its database.`,
      );
    }
    if (subnets === undefined) return;
    const fn = t.function.node.defaultChild as lambda.CfnFunction;
    fn.vpcConfig = { subnetIds: subnets, securityGroupIds: securityGroups };
    // Lambda Developer Guide, "Giving Lambda functions access to resources in an Amazon VPC":
    // the execution role manages the function's network interfaces (AWSLambdaVPCAccessExecutionRole)
    t.allow(
      {
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      },
      "A function in a VPC: Lambda creates and deletes its network interfaces with the execution role's rights (AWSLambdaVPCAccessExecutionRole's actions); ec2:DescribeNetworkInterfaces works only on *.",
    );
  }

  /** Drill results per source (passed / failed) and restore times. */
  widgets(): cloudwatch.IWidget[] {
    const search = (metric: string, stat: string) => perSourceSearch(DRILL_METRICS.namespace, metric, stat, Duration.days(1));
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
      new cloudwatch.GraphWidget({
        title: 'Restores over their target per source (restoreDrill.rtoMinutes)',
        width: 8,
        left: [search(DRILL_METRICS.rtoBreached, 'Maximum')],
        leftYAxis: { min: 0, max: 1 },
      }),
    ];
  }
}
