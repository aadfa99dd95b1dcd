import { ArnFormat, Duration, RemovalPolicy, Stack, TimeZone, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AlertProps } from './alerts';
import { AslFile, checkSubstitutions } from './asl';
import { CONTRACT, Machine, PROVENANCE_TAGS, tasksOf } from './contract';
import { TaskFunction, TaskFunctionProps } from './task-function';
import { ConfigError, scheduleExpression, setting } from './validation';

/** The Failsafe account's trigger topic, unless a construct is told otherwise. */
export const DEFAULT_TOPIC_NAME = 'rds-failsafe';
/** The tag every snapshot the tool creates carries; IAM conditions deletes and changes on it. */
export const MANAGED_TAG = CONTRACT.tags.managed;
/** The one tag `verify` adds to a managed copy. */
export const VERIFIED_TAG = CONTRACT.tags.verified;
/** The tags a copy is created with (the Lambdas' `Provenance`): IAM lets `copy-latest` and `save`
 * add these keys and no other — `rds-failsafe:verified` above all. */
export { PROVENANCE_TAGS };
/** Every snapshot the tool creates is named rdsf-... (docs/contracts.md), so IAM can narrow by name too. */
export const COPY_PREFIX = CONTRACT.names.copyPrefix;

/** Props both account constructs take. */
export interface ScheduledRunProps {
  /** Folder with `<task>/bootstrap.zip` from `make package`. */
  readonly lambdaDir: string;
  readonly alerts: AlertProps;
  /** EventBridge Scheduler expression of the daily run. */
  readonly schedule?: string;
  /** IANA time zone of the schedule. Default `UTC`. */
  readonly scheduleTimeZone?: string;
  /** Sources (Live) or copies (Failsafe) in flight at once, 1–20. Default 5. */
  readonly maxConcurrency?: number;
  /**
   * The MiB/s a full snapshot copy is assumed to move at, 1–100,000 (whole): each copy is waited
   * for as long as its size needs at this throughput (`policy::copy_time`). Default 100, an
   * assumption: RDS publishes no copy throughput (docs/aws-facts.md, "Copy physics").
   */
  readonly copyThroughputMiBps?: number;
  readonly stateMachineName?: string;
}

/** `copyThroughputMiBps`, checked: what the schedules' runs and the triggered runs size waits by. */
export function copyThroughput(value: number | undefined): number {
  return setting(
    'copyThroughputMiBps',
    value,
    CONTRACT.settings.copyThroughputMiBps,
    'MiB/s a full snapshot copy is assumed to move at; lower it if your copies time out with a cause that says they are slower',
  );
}

/** The wildcard reason of every statement on the tool's own rdsf-* snapshots. */
export const OWN_COPIES =
  'Only snapshots named rdsf-* (every copy this tool makes, docs/contracts.md naming) in this account and region; deletes and attribute changes are further conditioned on the rds-failsafe:managed=true tag, creation on carrying that tag.';

/** The stack's account and region, which must be concrete: policies name them. */
export function concreteEnv(scope: Construct): { account: string; region: string } {
  const { account, region } = Stack.of(scope);
  if (Token.isUnresolved(account) || Token.isUnresolved(region)) {
    throw new ConfigError(
      'env',
      `the stack of ${scope.node.path} has no explicit account and region; give the Stack env: { account: '111111111111', region: 'eu-west-1' }`,
    );
  }
  return { account, region };
}

export function rdsArn(scope: Construct, account: string, region: string, resource: string): string {
  return `arn:${Stack.of(scope).partition}:rds:${region}:${account}:${resource}`;
}

/** The names of snapshots (instance and cluster) this tool creates in an account and region. */
export function ownCopyArns(scope: Construct, account: string, region: string): string[] {
  return [rdsArn(scope, account, region, `snapshot:${COPY_PREFIX}*`), rdsArn(scope, account, region, `cluster-snapshot:${COPY_PREFIX}*`)];
}

export const managedOnly = { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: 'true' } };
/** A copy (or its tags) must carry managed=true, and only the provenance keys. `ForAllValues`
 * holds for a request without tags too, hence the `Null` check that tags are there. */
export const createdManaged = {
  StringEquals: { [`aws:RequestTag/${MANAGED_TAG}`]: 'true' },
  'ForAllValues:StringEquals': { 'aws:TagKeys': PROVENANCE_TAGS },
  Null: { 'aws:TagKeys': 'false' },
};

/** Read-only listing of snapshots, which RDS authorises against "*" when no identifier is given. */
export function describeSnapshots(task: TaskFunction, ...moreActions: string[]): void {
  task.allow(
    { actions: ['rds:DescribeDBSnapshots', 'rds:DescribeDBClusterSnapshots', ...moreActions], resources: ['*'] },
    'Read-only Describe calls: listing snapshots (and option groups) across the account is how the task finds its own copies; RDS authorises a list without an identifier against "*".',
  );
}

/** The manual snapshot quota check before copying (ManualSnapshots / ManualClusterSnapshots). */
export function readSnapshotQuota(task: TaskFunction): void {
  task.allow(
    { actions: ['rds:DescribeAccountAttributes'], resources: ['*'] },
    'Read-only Describe calls: rds:DescribeAccountAttributes (the account\'s snapshot quotas, read before copying so that a full quota stops the run with one clear error) has no resource type; RDS authorises it against "*".',
  );
}

export interface MachineProps {
  readonly asl: AslFile;
  readonly name: string;
  readonly functions: Record<string, TaskFunction>;
  readonly scheduleExpression: string;
  readonly scheduleTimeZone: string;
  readonly scheduleDescription: string;
  readonly maxConcurrency: number;
  /** Given to each scheduled run as its `copyThroughputMiBps` (the copy machines only). */
  readonly copyThroughputMiBps?: number;
}

/** Shared validation of the schedule and concurrency props of both constructs. */
export function scheduleProps(
  schedule: string | undefined,
  timeZone: string | undefined,
  maxConcurrency: number | undefined,
  defaultSchedule: string,
): { scheduleExpression: string; scheduleTimeZone: string; maxConcurrency: number } {
  const tz = timeZone ?? 'UTC';
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(tz)) {
    throw new ConfigError('scheduleTimeZone', `${JSON.stringify(tz)} is not an IANA time zone name such as "UTC" or "Europe/Berlin"`);
  }
  return {
    scheduleExpression: scheduleExpression('schedule', schedule ?? defaultSchedule),
    scheduleTimeZone: tz,
    maxConcurrency: setting(
      'maxConcurrency',
      maxConcurrency,
      CONTRACT.settings.maxConcurrency,
      'sources copied at once; RDS allows 20 copies in flight per region, 5 for Aurora cross-region',
    ),
  };
}

/**
 * A state machine from one of the repository's ASL files with every `${...FunctionArn}`
 * substituted, logging ALL to its own log group, X-Ray tracing, the execution timeout of the
 * ASL's top-level TimeoutSeconds (a stuck run ends, alarms, and does not overlap the next) and a
 * EventBridge Scheduler schedule that starts it with the configured concurrency.
 */
export class ScheduledMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly schedule: scheduler.Schedule;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: MachineProps) {
    super(scope, id);
    const substitutions = Object.fromEntries(
      Object.entries(props.functions).map(([placeholder, task]) => [placeholder, task.function.functionArn]),
    );
    checkSubstitutions(props.asl, substitutions);
    // Under /aws/vendedlogs/: a log group elsewhere adds itself to the account's one CloudWatch
    // Logs resource policy, which is limited to 5,120 characters (Step Functions Developer Guide,
    // "Logging using CloudWatch Logs").
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${props.name}`,
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.name,
      definitionBody: sfn.DefinitionBody.fromString(props.asl.text),
      definitionSubstitutions: substitutions,
      // no `timeout`: CDK ignores it for a string definition; the ASL's TimeoutSeconds decides
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    // The ASL calls each function by its unqualified ARN; no versions or aliases are needed.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: Object.values(props.functions).map((t) => t.function.functionArn),
      }),
    );
    // The Map runs in Distributed mode: each item is a child execution of this state machine
    // (Step Functions Developer Guide, "IAM policies for using Distributed Map states").
    const stack = Stack.of(this);
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [
          stack.formatArn({
            service: 'states',
            resource: 'stateMachine',
            resourceName: props.name,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    const childExecutions = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${props.name}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [childExecutions],
      }),
    );
    const env = concreteEnv(this);
    Validations.of(this.stateMachine.role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:states:${env.region}:${env.account}:execution:${props.name}/*]`,
      reason:
        "The Distributed Map's child executions are named by Step Functions at run time (execution:<machine>/<map run>:<id>); the wildcard is limited to this state machine's own executions.",
    });
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'Added by CDK for logging ALL and X-Ray: logs:*LogDelivery and xray:PutTraceSegments/PutTelemetryRecords/GetSampling* do not support resource-level permissions.',
    });
    this.props = props;
    this.schedule = this.addSchedule('Schedule', props.scheduleExpression, props.scheduleDescription);
  }

  private readonly props: MachineProps;

  /** A schedule that starts this machine with the run settings, and `extra` in its input. */
  addSchedule(id: string, expression: string, description: string, extra: Record<string, unknown> = {}): scheduler.Schedule {
    const props = this.props;
    return new scheduler.Schedule(this, id, {
      description,
      schedule: scheduler.ScheduleExpression.expression(expression, TimeZone.of(props.scheduleTimeZone)),
      target: new targets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({
          maxConcurrency: props.maxConcurrency,
          ...(props.copyThroughputMiBps === undefined ? {} : { copyThroughputMiBps: props.copyThroughputMiBps }),
          ...extra,
        }),
        retryAttempts: 3,
      }),
    });
  }
}

/** One TaskFunction per task of the machine (contract/contract.json), keyed by its ASL
 * placeholder, its Lambda timeout equal to the ASL's TimeoutSeconds. */
export function taskFunctionsFor(
  scope: Construct,
  asl: AslFile,
  machine: Machine,
  common: Pick<TaskFunctionProps, 'lambdaDir' | 'environment' | 'configFields'>,
  /** Variables only some tasks read, by task name (`validate-drill`: its checks). */
  taskEnvironment: Record<string, Record<string, string>> = {},
): Record<string, TaskFunction> {
  return Object.fromEntries(
    Object.entries(tasksOf(machine)).map(([placeholder, t]) => {
      const seconds = asl.taskTimeouts[placeholder];
      if (seconds === undefined) {
        throw new Error(`${asl.file}: no Task with Resource \${${placeholder}} and a TimeoutSeconds`);
      }
      const environment = { ...common.environment, ...(taskEnvironment[t.task] ?? {}) };
      const fn = new TaskFunction(scope, idOf(t.task), { ...common, ...t, environment, timeout: Duration.seconds(seconds) });
      return [placeholder, fn];
    }),
  );
}

/** copy-latest -> CopyLatest */
function idOf(task: string): string {
  return task.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());
}

/** Lets a task create RDS's service-linked role `AWSServiceRoleForRDS` and nothing else
 * (`iam:AWSServiceName` = rds.amazonaws.com; IAM User Guide, "Service-linked role permissions"). */
export function createRdsServiceLinkedRole(task: TaskFunction): void {
  const { account } = concreteEnv(task);
  task.allow({
    actions: ['iam:CreateServiceLinkedRole'],
    resources: [`arn:${Stack.of(task).partition}:iam::${account}:role/aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS`],
    conditions: { StringEquals: { 'iam:AWSServiceName': 'rds.amazonaws.com' } },
  });
}

/** One line per source of a metric the Lambdas write with `SourceAccount` and `SourceId` (a SEARCH,
 * so a new source appears on the graph without a deploy). */
export function perSourceSearch(namespace: string, metricName: string, statistic: string, period: Duration): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${namespace},SourceAccount,SourceId} MetricName="${metricName}"', '${statistic}', ${period.toSeconds()})`,
    label: '',
    period,
  });
}
