import { IAspect } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as organizations from 'aws-cdk-lib/aws-organizations';
import { Construct, IConstruct } from 'constructs';
import { CONTRACT } from './contract';
import { accountId, ConfigError } from './validation';

/**
 * Guardrails on the Failsafe account itself, deployed from the Organizations management account (or
 * a delegated administrator of Organizations policies): a service control policy for the account's
 * own principals and a resource control policy for its keys. The tool keeps the last good copy out
 * of reach of the Live account's administrators; these keep it out of reach of the Failsafe
 * account's administrators too (docs/security.md, "Guardrails on the Failsafe account").
 *
 * Who is exempt, by role ARN (aws:PrincipalArn, which a session cannot choose):
 * - the tool's roles: every role the Failsafe stack creates has the path `names.toolRolePath`, and
 *   only the deployment can create, change or pass a role of that path;
 * - the deployment: the CDK bootstrap roles of the account (`cdk-<qualifier>-*`), which only the
 *   break-glass role may assume;
 * - the break-glass role, and only in a session signed in with MFA.
 * SCPs never restrict the management account, service-linked roles or AWS service principals (AWS
 * Organizations User Guide, "Service control policies"); the RCP leaves AWS services acting as
 * themselves alone explicitly (`aws:PrincipalIsAWSService`), and RDS's grants for a copy or a restore
 * (`kms:GrantIsForAWSResource`) are the caller's, through RDS.
 */
export interface FailsafeGuardrailsProps {
  /** The Failsafe account whose principals and keys the policies restrict. */
  readonly failsafeAccount: string;
  /**
   * Where the policies are attached: the Failsafe account (default), or an organizational unit
   * (`ou-…`) or the root (`r-…`) holding it. Everything below the target is guarded as the
   * Failsafe account is: attach to an OU only if it holds nothing but Failsafe accounts.
   */
  readonly targetId?: string;
  /** The break-glass role's name in the Failsafe account (with its path, if any). Default `names.breakGlassRole`. */
  readonly breakGlassRole?: string;
  /** The CDK bootstrap qualifier of the Failsafe account, whose roles deploy the stack. Default `hnb659fds`. */
  readonly bootstrapQualifier?: string;
}

/** An IAM policy document as Organizations stores it. */
export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: Record<string, unknown>[];
}

/** Organizations' limit on one SCP or RCP document, in characters (AWS Organizations User Guide, "Quotas"). */
export const ORGANIZATIONS_POLICY_MAX_CHARS = 5120;

export const DEFAULT_BOOTSTRAP_QUALIFIER = 'hnb659fds';
const TARGET = /^(\d{12}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/;
const ROLE_NAME = /^([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
const QUALIFIER = /^[A-Za-z0-9_-]{1,10}$/;

const { tags: TAGS, names: NAMES } = CONTRACT;
/** The tag keys the tool writes and reads: every one starts with this. */
const TOOL_TAG_KEYS = `${TAGS.managed.split(':')[0]}:*`;

/**
 * The role ARNs the policies name. Any account (`*`): an SCP judges only the principals of the
 * accounts it is attached to, so attached to an OU it guards each Failsafe account by its own
 * roles; a principal of another account reaches a Failsafe key only if the key policy lets it,
 * which grants no other account's role anything of what the RCP guards.
 */
export function guardedPrincipals(props: Pick<FailsafeGuardrailsProps, 'breakGlassRole' | 'bootstrapQualifier'>) {
  const q = props.bootstrapQualifier ?? DEFAULT_BOOTSTRAP_QUALIFIER;
  const role = (name: string) => `arn:aws:iam::*:role/${name}`;
  return {
    /** Every role of the Failsafe stack (task Lambdas, state machines, schedules). */
    tool: role(`${NAMES.toolRolePath.replace(/^\//, '')}*`),
    /** The CDK bootstrap roles that deploy it. */
    deploy: role(`cdk-${q}-*`),
    breakGlass: role(props.breakGlassRole ?? NAMES.breakGlassRole),
  };
}

/** The props, checked: a mistake fails `cdk synth` naming the field. */
export function validGuardrails(field: string, props: FailsafeGuardrailsProps): Required<FailsafeGuardrailsProps> {
  const failsafeAccount = accountId(`${field}.failsafeAccount`, props.failsafeAccount);
  const targetId = props.targetId ?? failsafeAccount;
  if (typeof targetId !== 'string' || !TARGET.test(targetId)) {
    throw new ConfigError(
      `${field}.targetId`,
      `${JSON.stringify(targetId)} must be the Failsafe account id, an organizational unit id (ou-…) or the root id (r-…)`,
    );
  }
  if (/^\d{12}$/.test(targetId) && targetId !== failsafeAccount) {
    throw new ConfigError(
      `${field}.targetId`,
      `${targetId} is an account other than the Failsafe account (${failsafeAccount}); attach the guardrails to the Failsafe account or an OU that holds it`,
    );
  }
  const breakGlassRole = breakGlassRoleName(`${field}.breakGlassRole`, props.breakGlassRole);
  const bootstrapQualifier = bootstrapQualifierOf(`${field}.bootstrapQualifier`, props.bootstrapQualifier);
  return { failsafeAccount, targetId, breakGlassRole, bootstrapQualifier };
}

/** The break-glass role's name (default `names.breakGlassRole`), checked. */
export function breakGlassRoleName(field: string, value: unknown): string {
  const name = value ?? NAMES.breakGlassRole;
  if (typeof name !== 'string' || !ROLE_NAME.test(name) || name.startsWith(NAMES.toolRolePath.slice(1))) {
    throw new ConfigError(
      field,
      `${JSON.stringify(name)} must be an IAM role name (with its path, e.g. "security/break-glass"), outside the tool's path ${NAMES.toolRolePath}`,
    );
  }
  return name;
}

/** The CDK bootstrap qualifier (default `hnb659fds`), checked. */
export function bootstrapQualifierOf(field: string, value: unknown): string {
  const q = value ?? DEFAULT_BOOTSTRAP_QUALIFIER;
  if (typeof q !== 'string' || !QUALIFIER.test(q)) {
    throw new ConfigError(field, `${JSON.stringify(q)} must be the CDK bootstrap qualifier: up to 10 letters, digits, _ or -`);
  }
  return q;
}

/** What changes a key so that its copies may become unreadable: no principal but the deployment and break-glass. */
const KEY_CHANGES = [
  'kms:ScheduleKeyDeletion',
  'kms:DisableKey',
  'kms:PutKeyPolicy',
  'kms:DeleteImportedKeyMaterial',
  'kms:DisableKeyRotation',
];

const unless = (...arns: string[]) => ({ ArnNotLike: { 'aws:PrincipalArn': arns } });

/**
 * The service control policy: what no principal of the Failsafe account may do, except the roles
 * named in each statement. Every statement is a Deny: an SCP grants nothing.
 */
export function serviceControlPolicy(props: FailsafeGuardrailsProps): PolicyDocument {
  const p = guardedPrincipals(props);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        // break-glass is a person at a keyboard with a second factor, never a stolen access key
        Sid: 'BreakGlassOnlyWithMfa',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { ArnLike: { 'aws:PrincipalArn': p.breakGlass }, BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
      },
      {
        // a copy is deleted by retention (`prune`) or break-glass; nobody shares or rewrites it
        Sid: 'CopiesStay',
        Effect: 'Deny',
        Action: [
          'rds:DeleteDBSnapshot',
          'rds:DeleteDBClusterSnapshot',
          'rds:ModifyDBSnapshot',
          'rds:ModifyDBSnapshotAttribute',
          'rds:ModifyDBClusterSnapshotAttribute',
        ],
        Resource: [`arn:aws:rds:*:*:snapshot:${NAMES.copyPrefix}*`, `arn:aws:rds:*:*:cluster-snapshot:${NAMES.copyPrefix}*`],
        Condition: unless(p.tool, p.breakGlass),
      },
      {
        // a held copy is deleted by nobody, break-glass included: a hold is released first
        Sid: 'HeldCopiesStay',
        Effect: 'Deny',
        Action: ['rds:DeleteDBSnapshot', 'rds:DeleteDBClusterSnapshot'],
        Resource: '*',
        Condition: { Null: { [`aws:ResourceTag/${TAGS.hold}`]: 'false' } },
      },
      {
        // the tool's tags say what a copy is (managed, verified, its source) and whether it is
        // held: only the tool writes them, only break-glass holds, releases or corrects them. On
        // snapshots only: `rdsf restore` tags the database it makes `rds-failsafe:restored-from`
        Sid: 'ToolTagsStay',
        Effect: 'Deny',
        Action: ['rds:AddTagsToResource', 'rds:RemoveTagsFromResource'],
        Resource: ['arn:aws:rds:*:*:snapshot:*', 'arn:aws:rds:*:*:cluster-snapshot:*'],
        Condition: { 'ForAnyValue:StringLike': { 'aws:TagKeys': TOOL_TAG_KEYS }, ...unless(p.tool, p.breakGlass) },
      },
      {
        // the account holds the tool and nothing else: its machines, functions, schedules,
        // topics, alarms, logs and stacks change only by a deployment, and only the tool runs
        // them (a `prune` invoked by hand with a `now` years ahead would delete down to the floor)
        Sid: 'ToolStays',
        Effect: 'Deny',
        Action: [
          'lambda:Invoke*',
          'lambda:Create*',
          'lambda:Delete*',
          'lambda:Update*',
          'lambda:Put*',
          'lambda:AddPermission',
          'lambda:RemovePermission',
          'states:Create*',
          'states:Delete*',
          'states:Update*',
          'states:StopExecution',
          'states:Start*',
          'states:RedriveExecution',
          'scheduler:Delete*',
          'scheduler:Update*',
          'sns:DeleteTopic',
          'sns:SetTopicAttributes',
          'sns:AddPermission',
          'sns:RemovePermission',
          'sns:Subscribe',
          'sns:Unsubscribe',
          'sns:SetSubscriptionAttributes',
          'cloudwatch:DeleteAlarms',
          'cloudwatch:DisableAlarmActions',
          'cloudwatch:PutMetricAlarm',
          'cloudwatch:PutCompositeAlarm',
          'logs:Delete*',
          'logs:PutRetentionPolicy',
          'logs:DisassociateKmsKey',
          'cloudformation:DeleteStack',
          'cloudformation:UpdateStack',
          'cloudformation:CreateChangeSet',
          'cloudformation:ExecuteChangeSet',
          // the deployment's assets: a zip swapped in the bucket would ship with the next deploy
          's3:PutObject',
          's3:DeleteObject*',
        ],
        Resource: '*',
        // the tool's roles too: a state machine's role stops its own Distributed Map children
        Condition: unless(p.tool, p.deploy, p.breakGlass),
      },
      {
        // the tool's roles, the deployment's and break-glass change only by a deployment; nobody
        // else hands a tool role to a function or machine of their own, or creates one like it
        Sid: 'RolesStay',
        Effect: 'Deny',
        Action: [
          'iam:Create*',
          'iam:Delete*',
          'iam:Put*',
          'iam:Attach*',
          'iam:Detach*',
          'iam:Update*',
          'iam:Tag*',
          'iam:Untag*',
          'iam:PassRole',
        ],
        Resource: [p.tool, p.deploy, p.breakGlass],
        Condition: unless(p.deploy, p.breakGlass),
      },
      {
        // a deployment is made through break-glass
        Sid: 'DeployOnlyByBreakGlass',
        Effect: 'Deny',
        Action: 'sts:AssumeRole',
        Resource: p.deploy,
        Condition: unless(p.deploy, p.breakGlass),
      },
    ],
  };
}

/** An RCP applies to AWS services acting as themselves too (AWS KMS Developer Guide, "Resource
 * control policies in AWS KMS"): those are never what it guards against. */
const notAwsService = { 'aws:PrincipalIsAWSService': 'false' };

/**
 * The resource control policy: what no principal, of any account, may do to a KMS key of the
 * Failsafe account (the Failsafe key, without which no copy can be read, and the topic's key),
 * except the deployment and break-glass. RDS's own grants for a copy or a restore
 * (`kms:GrantIsForAWSResource`) stay allowed.
 */
export function resourceControlPolicy(props: FailsafeGuardrailsProps): PolicyDocument {
  const p = guardedPrincipals(props);
  return { Version: '2012-10-17', Statement: keyDenies('KeysStay', '*', [p.deploy, p.breakGlass], notAwsService) };
}

/**
 * The two Denies that guard a key, in the RCP and in each key's own policy alike: no principal but
 * `exempt` (role ARN patterns) schedules its deletion, disables it, changes its policy (`KEY_CHANGES`)
 * or grants it outside an AWS service. `when`: further `BoolIfExists` conditions on both.
 */
function keyDenies(changesSid: string, principal: unknown, exempt: string[], when: Record<string, string> = {}): Record<string, unknown>[] {
  const condition = (bool: Record<string, string>) => ({
    ...(Object.keys(bool).length > 0 ? { BoolIfExists: bool } : {}),
    ...unless(...exempt),
  });
  return [
    { Sid: changesSid, Effect: 'Deny', Principal: principal, Action: KEY_CHANGES, Resource: '*', Condition: condition(when) },
    {
      Sid: 'NoGrantsButAwsServices',
      Effect: 'Deny',
      Principal: principal,
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: condition({ 'kms:GrantIsForAWSResource': 'false', ...when }),
    },
  ];
}

/** One policy document as Organizations stores it (no whitespace), refused at synth above the quota. */
function content(name: string, doc: PolicyDocument): PolicyDocument {
  const chars = JSON.stringify(doc).length;
  if (chars > ORGANIZATIONS_POLICY_MAX_CHARS) {
    throw new Error(
      `rds-failsafe: the ${name} is ${chars} characters, AWS Organizations allows ${ORGANIZATIONS_POLICY_MAX_CHARS}; a shorter break-glass role name fits`,
    );
  }
  return doc;
}

/** The service and resource control policies of one Failsafe account, attached to it (or its OU). */
export class FailsafeGuardrails extends Construct {
  readonly serviceControlPolicy: organizations.CfnPolicy;
  readonly resourceControlPolicy: organizations.CfnPolicy;

  constructor(scope: Construct, id: string, props: FailsafeGuardrailsProps, field = 'guardrails') {
    super(scope, id);
    const p = validGuardrails(field, props);
    this.serviceControlPolicy = new organizations.CfnPolicy(this, 'ServiceControlPolicy', {
      name: `rds-failsafe-guardrails-${p.failsafeAccount}`,
      description:
        'rds-failsafe: nobody in the Failsafe account but the tool, its deployment and break-glass (MFA) deletes, shares or re-tags a copy, or changes the tool',
      type: 'SERVICE_CONTROL_POLICY',
      content: content('service control policy', serviceControlPolicy(p)),
      targetIds: [p.targetId],
    });
    this.resourceControlPolicy = new organizations.CfnPolicy(this, 'ResourceControlPolicy', {
      name: `rds-failsafe-key-guardrails-${p.failsafeAccount}`,
      description:
        "rds-failsafe: nobody but the Failsafe account's deployment and break-glass deletes, disables or re-policies its keys, or grants them outside AWS services",
      type: 'RESOURCE_CONTROL_POLICY',
      content: content('resource control policy', resourceControlPolicy(p)),
      targetIds: [p.targetId],
    });
  }
}

/**
 * Without an Organization: what the key policy alone can hold. Nobody but the deployment (the CDK
 * bootstrap roles of `account`) and break-glass may schedule the key's deletion, disable it,
 * change its policy or grant it outside AWS services — the account's root user and its
 * administrators included, whatever their IAM policies say, since a key policy's Deny overrides
 * every Allow (AWS KMS Developer Guide, "Key policies"). An administrator who can edit the
 * break-glass role's trust policy or assume the deployment's roles still can: only the SCP closes
 * that (docs/security.md says what stays open).
 */
export function guardKey(
  key: { addToResourcePolicy(statement: iam.PolicyStatement): unknown },
  account: string,
  props: Pick<FailsafeGuardrailsProps, 'breakGlassRole' | 'bootstrapQualifier'> = {},
): void {
  const p = guardedPrincipals(props);
  const own = (arn: string) => arn.replace('::*:', `::${account}:`);
  for (const statement of keyDenies('OnlyDeploymentOrBreakGlassChangesThisKey', { AWS: '*' }, [own(p.deploy), own(p.breakGlass)])) {
    key.addToResourcePolicy(iam.PolicyStatement.fromJson(statement));
  }
}

/** Every IAM role under `scope` gets the tool's path (`names.toolRolePath`), which the guardrails exempt and protect. */
export class ToolRolePath implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof iam.CfnRole && node.path === undefined) node.path = NAMES.toolRolePath;
  }
}
