import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CONTRACT } from './contract';
import { ConfigError } from './validation';

/** The tag naming a task Lambda's binary (`copy-latest`, ...) on its function, role and log group. */
export const TASK_TAG = CONTRACT.tags.task;

export interface TaskFunctionProps {
  /** The binary's name, as everywhere else: `copy-latest`, `prune`, ... */
  readonly task: string;
  readonly description: string;
  /** Folder holding `<task>/bootstrap.zip`, as `make package` leaves them. */
  readonly lambdaDir: string;
  readonly environment: Record<string, string>;
  readonly timeout: Duration;
  /** Environment variable -> the configuration field it comes from, and how to make it shorter,
   * for the error when the environment is too large. */
  readonly configFields?: Record<string, { field: string; fix?: string }>;
}

/** Lambda's limit on a function's environment variables: keys and values together, 4 KB
 * (Lambda Developer Guide, "Lambda quotas": "Environment variables: 4 KB, for all environment
 * variables associated with the function, in aggregate"). Past it the deployment fails, after
 * `cdk synth` said nothing. */
export const LAMBDA_ENVIRONMENT_MAX_BYTES = 4096;
/** What a value CloudFormation fills in at deploy time (an ARN of the stack's own key, topic or
 * state machine) is counted as: longer than any of those ARNs. */
export const DEPLOY_TIME_VALUE_BYTES = 128;

/** Bytes of an environment, keys and values, a deploy-time value counted as
 * DEPLOY_TIME_VALUE_BYTES; with each variable's share, largest first. */
export function environmentSize(scope: Construct, environment: Record<string, unknown>): { bytes: number; byVariable: [string, number][] } {
  const stack = Stack.of(scope);
  const valueBytes = (value: unknown): number => {
    const resolved = stack.resolve(value);
    if (typeof resolved === 'string') return Buffer.byteLength(resolved, 'utf8');
    // Fn::Join of literal parts and deploy-time values, or one Ref / Fn::GetAtt
    const join = resolved?.['Fn::Join'];
    if (Array.isArray(join)) {
      return (join[1] as unknown[]).reduce<number>(
        (n, part, i) => n + valueBytes(part) + (i > 0 ? Buffer.byteLength(join[0], 'utf8') : 0),
        0,
      );
    }
    return DEPLOY_TIME_VALUE_BYTES;
  };
  const byVariable: [string, number][] = Object.entries(environment).map(([k, v]) => [k, Buffer.byteLength(k, 'utf8') + valueBytes(v)]);
  byVariable.sort((a, b) => b[1] - a[1]);
  return { bytes: byVariable.reduce((n, [, b]) => n + b, 0), byVariable };
}

/** Where `make package` (cargo lambda build --release --arm64 --output-format zip) leaves a task's zip. */
export function lambdaZip(lambdaDir: string, task: string): string {
  const zip = path.resolve(lambdaDir, task, 'bootstrap.zip');
  if (!existsSync(zip)) {
    throw new Error(
      `rds-failsafe: the Lambda package ${zip} does not exist. Run \`make package\` in the repository root ` +
        `(cargo lambda build --release --arm64 --output-format zip) before cdk synth or deploy, ` +
        `or point the lambdaDir context key at a folder holding <task>/bootstrap.zip.`,
    );
  }
  return zip;
}

/**
 * One task Lambda: the prebuilt arm64 zip, its own role (nothing but its log group until the
 * owning construct adds exactly the statements the task needs) and its own log group.
 */
export class TaskFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TaskFunctionProps) {
    super(scope, id);
    // The function, its role and log group say which task they are: an operator filters by it,
    // and the local stack maps each synthesized function to its binary by it.
    Tags.of(this).add(TASK_TAG, props.task);
    const environment = {
      ...props.environment,
      ACCOUNT_ID: Stack.of(this).account,
      // A write is retried by the state machines (Retry on Throttled with backoff): one SDK
      // attempt keeps its throttle visible in the execution history, as in the local stack. RDS
      // reads override this with the SDK's standard retries (rdsf_core::port::aws::READ_ATTEMPTS).
      AWS_MAX_ATTEMPTS: '1',
    };
    const size = environmentSize(this, environment);
    if (size.bytes > LAMBDA_ENVIRONMENT_MAX_BYTES) {
      const [variable, bytes] = size.byVariable[0];
      const origin = props.configFields?.[variable];
      throw new ConfigError(
        origin?.field ?? `the ${variable} environment variable`,
        `the ${props.task} function's environment would be ${size.bytes} bytes, Lambda allows ${LAMBDA_ENVIRONMENT_MAX_BYTES} ` +
          `for all variables together, and ${variable} alone is ${bytes}. ` +
          (origin?.fix ?? 'Shorten the list, or split it over two deployments.'),
      );
    }
    const code = lambda.Code.fromAsset(lambdaZip(props.lambdaDir, props.task));
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `rds-failsafe ${props.task}: only what this task calls`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.function = new lambda.Function(this, 'Function', {
      description: props.description,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: 'bootstrap',
      code,
      role: this.role,
      logGroup: this.logGroup,
      memorySize: 256,
      timeout: props.timeout,
      environment,
    });
  }

  private readonly acknowledged = new Set<string>();

  /**
   * Adds one statement to this task's role. A statement with a wildcard in an action or resource
   * must say why (`wildcardReason`); the reason becomes the cdk-nag acknowledgement of exactly
   * those wildcards on this role, so nothing else is waved through.
   */
  allow(statement: iam.PolicyStatementProps, wildcardReason?: string): void {
    this.role.addToPrincipalPolicy(new iam.PolicyStatement(statement));
    const stack = Stack.of(this);
    const findings = [
      ...(statement.actions ?? []).filter((a) => a.includes('*')).map((a) => `Action::${a}`),
      ...(statement.resources ?? [])
        .map((r) => stack.resolve(r))
        .filter((r): r is string => typeof r === 'string' && r.includes('*'))
        .map((r) => `Resource::${r}`),
    ];
    for (const finding of findings) {
      if (!wildcardReason) {
        throw new Error(`${this.role.node.path}: ${finding} needs a reason: pass one to allow()`);
      }
      // each finding and reason once; a wildcard granted by two statements carries both reasons
      if (!this.acknowledged.has(`${finding} ${wildcardReason}`)) {
        this.acknowledged.add(`${finding} ${wildcardReason}`);
        Validations.of(this.role).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${finding}]`, reason: wildcardReason });
      }
    }
  }
}
