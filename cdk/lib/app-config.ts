import * as path from 'node:path';
import { AlertProps } from './alerts';
import { CadenceSource, FailsafeAccountProps, RetentionProps, SourceCopyWaitOf } from './failsafe-account';
import { RestoreDrillProps } from './restore-drill';
import { LiveAccountProps } from './live-account';
import { bootstrapQualifierOf, breakGlassRoleName, FailsafeGuardrailsProps } from './guardrails';
import { accountId, ConfigError, region } from './validation';

/** The context key holding the ready app's configuration (cdk.json, or `-c rds-failsafe='{...}'`). */
export const CONTEXT_KEY = 'rds-failsafe';

/** Field -> what it is; the table of docs/configuration.md is this list. */
export const CONTEXT_FIELDS: Record<string, string> = {
  liveAccount: 'Live account id (required)',
  liveRegion: 'region of the databases (required)',
  failsafeAccount: 'Failsafe account id, different from the Live account (required)',
  failsafeRegion: 'region of the Failsafe copies; default liveRegion',
  sources: 'selectors of the databases to protect (required)',
  incrementalSources:
    'selectors (of the sources) whose own snapshot the Live account shares instead of a share copy, so their Failsafe copies can be incremental; for databases on a customer-managed key that grants the Failsafe account(s), or unencrypted; default none',
  cadences:
    'sources snapshotted every few hours besides the daily run (an RPO under a day): [{"sources": [selectors], "everyHours": 1, 2, 3, 4, 6, 8 or 12}]; default none',
  copyWaits:
    'sources whose copies are waited for at least maxWaitSeconds whatever their size says (an Aurora cluster, whose size RDS does not report; slow copies): [{"sources": [selectors], "maxWaitSeconds": 1-72000}]; the Failsafe side waits as long for those named by identifier; default none',
  additionalLiveAccounts: 'other Live accounts (deployed from their own app) that send to this Failsafe account',
  additionalLiveRegions:
    'regions those other Live accounts share from, besides liveRegion; the Failsafe side looks for shared snapshots in liveRegion and each of these',
  additionalFailsafeAccounts:
    'other Failsafe accounts this Live account also shares with and notifies, each deployed from its own copy of this app: [{"account", "region", "topicName"}]',

  liveSchedule: 'Live run schedule; default cron(0 5 * * ? *)',
  failsafeSchedule: 'Failsafe backstop schedule; default cron(0 11 * * ? *)',
  scheduleTimeZone: 'IANA time zone of both schedules; default UTC',
  maxConcurrency: 'sources copied at once, 1-20; default 5',
  copyThroughputMiBps:
    'MiB/s a full snapshot copy is assumed to move at, which sizes how long each copy is waited for, 1-100000; default 100',
  liveKeep: 'older share copies kept per source in Live, 1-50; default 2',
  retention: '{hourly, daily, weekly, monthly} (default 0/7/4/12) or {days}',
  minKeep: 'newest verified copies per source never pruned, >= 1; default 3',
  newestCopyMaxAgeHours: "dead-man's switch threshold in hours, 24-720; default 30",
  retiredSources:
    "sources retired on purpose, as <live-account>:<source-id>: copies kept under retention, no copy age, so the dead-man's switch stops watching them",
  alertEmails: "e-mail addresses subscribed to both stacks' alert topics",
  liveAlertTopicArn: 'existing topic in the Live account that alarms also notify',
  failsafeAlertTopicArn: 'existing topic in the Failsafe account that alarms also notify',
  topicName: 'name of the Failsafe trigger topic; default rds-failsafe',
  liveEncryptUnencrypted: 'encrypt unencrypted instance snapshots with the share key; default false',
  failsafeEncryptUnencrypted: 'encrypt unencrypted instance snapshots with the Failsafe key; default true',
  restoreDrill:
    'opt-in restore drill in the Failsafe account: {subnetGroupName, securityGroupIds, schedule (default weekly, cron(0 6 ? * SUN *)), sources ("one" or "all"), instanceClass, rtoMinutes (a restore time target: minutes, or minutes by source)}',
  breakGlassRole:
    "the Failsafe account's break-glass role (name with its path): only it (signed in with MFA) and the deployment may change the Failsafe keys, and under the guardrails release a hold or change the tool; default rds-failsafe-break-glass",
  guardrails:
    'the Organizations guardrails of the Failsafe account, deployed as the rds-failsafe-guardrails stack in the management account (or a delegated administrator): {managementAccount, region (default us-east-1), targetId (the Failsafe account, default, or an OU holding only Failsafe accounts)}; default none',
  lambdaDir:
    'folder of <task>/bootstrap.zip, relative to cdk/; default ../target/lambda (make package); the RDSF_LAMBDA_DIR environment variable overrides it',
};

export interface AppConfig {
  readonly live: { account: string; region: string; props: LiveAccountProps };
  readonly failsafe: { account: string; region: string; props: FailsafeAccountProps };
  /** The management account's stack, when `guardrails` is set. */
  readonly guardrails?: { account: string; region: string; props: FailsafeGuardrailsProps };
}

/** `guardrails`: where the SCP and RCP of the Failsafe account are deployed and attached. */
function guardrailsConfig(v: unknown, failsafeAccount: string, failsafe: FailsafeAccountProps): AppConfig['guardrails'] {
  const field = `${CONTEXT_KEY}.guardrails`;
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new ConfigError(field, `${JSON.stringify(v)} must be an object such as {"managementAccount": "999999999999"}`);
  }
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !['managementAccount', 'region', 'targetId'].includes(k));
  if (extra.length > 0) throw new ConfigError(`${field}.${extra[0]}`, 'unknown field; the fields are managementAccount, region, targetId');
  const account = accountId(`${field}.managementAccount`, o.managementAccount);
  if (account === failsafeAccount) {
    throw new ConfigError(
      `${field}.managementAccount`,
      `equals failsafeAccount (${failsafeAccount}); the guardrails are deployed from the Organizations management account (or a delegated administrator), which SCPs do not restrict`,
    );
  }
  return {
    account,
    region: region(`${field}.region`, o.region ?? 'us-east-1'),
    props: {
      failsafeAccount,
      targetId: o.targetId as string | undefined,
      breakGlassRole: failsafe.breakGlassRole,
      bootstrapQualifier: failsafe.bootstrapQualifier,
    },
  };
}

/**
 * The sources of the Live account's cadences that the Failsafe side can name, for their copy-age
 * alarms: those selected by identifier (`orders`, `instance:orders`, `cluster:ledger`). A tag or
 * pattern selector's sources are known only at run time in the Live account: they are watched by
 * `newestCopyMaxAgeHours` alone (docs/configuration.md, "Cadences").
 */
function cadenceSources(cadences: unknown, liveAccount: string): CadenceSource[] | undefined {
  if (!Array.isArray(cadences)) return undefined;
  return cadences.flatMap((c: { sources?: unknown; everyHours?: unknown }) =>
    idSelected(c?.sources).map((id) => ({ sourceAccount: liveAccount, sourceId: id, everyHours: Number(c.everyHours) })),
  );
}

/**
 * The Live account's `copyWaits` the Failsafe side can apply: those naming sources by identifier,
 * as for the cadence alarms; a tag or pattern selector's sources are known only in the Live account.
 */
function sourceCopyWaits(copyWaits: unknown, liveAccount: string): SourceCopyWaitOf[] | undefined {
  if (!Array.isArray(copyWaits)) return undefined;
  return copyWaits.flatMap((w: { sources?: unknown; maxWaitSeconds?: unknown }) =>
    idSelected(w?.sources).map((id) => ({ sourceAccount: liveAccount, sourceId: id, maxWaitSeconds: Number(w.maxWaitSeconds) })),
  );
}

/** The lower-case ids a list of selectors names by identifier (`orders`, `instance:orders`, `cluster:ledger`). */
function idSelected(selectors: unknown): string[] {
  return (Array.isArray(selectors) ? selectors : [])
    .map((s: unknown) => String(s).trim())
    .map((s) => (s.startsWith('instance:') || s.startsWith('cluster:') ? s.split(':')[1] : s))
    .filter((id) => /^[a-z0-9-]+$/i.test(id) && id.toLowerCase() !== 'all')
    .map((id) => id.toLowerCase());
}

/** Strings from `-c key=value` become JSON where that parses, else stay strings. */
function fromCli(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function list(field: string, v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v;
  throw new ConfigError(`${CONTEXT_KEY}.${field}`, `${JSON.stringify(v)} must be a list of strings, e.g. ["a", "b"]`);
}

/**
 * `additionalFailsafeAccounts`: further Failsafe accounts of the Live account, each `{account,
 * region (default failsafeRegion), topicName (default rds-failsafe)}`, none the Live account or
 * named twice.
 */
function failsafeTargets(
  v: unknown,
  liveAccount: string,
  failsafeAccount: string,
  failsafeRegion: string,
): { account: string; region: string; topicName?: string }[] {
  const field = `${CONTEXT_KEY}.additionalFailsafeAccounts`;
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    throw new ConfigError(field, `${JSON.stringify(v)} must be a list of {"account": "...", "region": "...", "topicName": "..."}`);
  }
  const seen = new Set([failsafeAccount]);
  return v.map((e, i) => {
    const at = `${field}[${i}]`;
    if (e === null || typeof e !== 'object' || Array.isArray(e)) {
      throw new ConfigError(at, `${JSON.stringify(e)} must be an object such as {"account": "333333333333", "region": "eu-west-1"}`);
    }
    const o = e as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => !['account', 'region', 'topicName'].includes(k));
    if (extra.length > 0) throw new ConfigError(`${at}.${extra[0]}`, 'unknown field; the fields are account, region, topicName');
    const account = accountId(`${at}.account`, o.account);
    if (account === liveAccount) {
      throw new ConfigError(
        `${at}.account`,
        `equals liveAccount (${liveAccount}); a Failsafe account must be separate from the Live account`,
      );
    }
    if (seen.has(account)) {
      throw new ConfigError(
        `${at}.account`,
        `${account} is named twice (failsafeAccount or an earlier entry); name each Failsafe account once`,
      );
    }
    seen.add(account);
    return {
      account,
      region: region(`${at}.region`, o.region ?? failsafeRegion),
      topicName: o.topicName as string | undefined,
    };
  });
}

/**
 * Turns the `rds-failsafe` context object into the two constructs' props. Field names in errors
 * are the context paths, so the message points at the line of cdk.json to fix; the constructs
 * validate the values themselves.
 */
export function appConfig(raw: unknown, cdkDir: string, env: NodeJS.ProcessEnv = process.env, bootstrapQualifier?: string): AppConfig {
  const c = fromCli(raw);
  if (c === undefined || c === null || typeof c !== 'object' || Array.isArray(c)) {
    throw new ConfigError(
      CONTEXT_KEY,
      `context key missing or not an object; add "${CONTEXT_KEY}": { "liveAccount": ..., ... } to the context of cdk/cdk.json`,
    );
  }
  const cfg = c as Record<string, unknown>;
  const unknown = Object.keys(cfg).filter((k) => !(k in CONTEXT_FIELDS));
  if (unknown.length > 0) {
    throw new ConfigError(`${CONTEXT_KEY}.${unknown[0]}`, `unknown field; the fields are ${Object.keys(CONTEXT_FIELDS).join(', ')}`);
  }
  const get = (k: string) => cfg[k];
  const f = (k: string) => `${CONTEXT_KEY}.${k}`;
  const liveAccount = accountId(f('liveAccount'), get('liveAccount'));
  const liveRegion = region(f('liveRegion'), get('liveRegion'));
  const failsafeAccount = accountId(f('failsafeAccount'), get('failsafeAccount'));
  const failsafeRegion = region(f('failsafeRegion'), get('failsafeRegion') ?? liveRegion);
  if (failsafeAccount === liveAccount) {
    throw new ConfigError(
      f('failsafeAccount'),
      `equals liveAccount (${liveAccount}); the copies must live in a separate account that the Live account's users cannot reach`,
    );
  }
  const additionalFailsafe = failsafeTargets(get('additionalFailsafeAccounts'), liveAccount, failsafeAccount, failsafeRegion);
  const emails = list('alertEmails', get('alertEmails')) ?? [];
  const alerts = (topicArn: unknown): AlertProps => ({ emails, topicArn: topicArn as string | undefined });
  // RDSF_LAMBDA_DIR lets a build pipeline (and the tests) point at its own zips without editing cdk.json.
  const lambdaDir = path.resolve(cdkDir, env.RDSF_LAMBDA_DIR || ((get('lambdaDir') as string | undefined) ?? '../target/lambda'));
  const shared = {
    lambdaDir,
    scheduleTimeZone: get('scheduleTimeZone') as string | undefined,
    maxConcurrency: get('maxConcurrency') as number | undefined,
    copyThroughputMiBps: get('copyThroughputMiBps') as number | undefined,
  };
  const failsafeProps: FailsafeAccountProps = {
    ...shared,
    schedule: get('failsafeSchedule') as string | undefined,
    sourceAccounts: [liveAccount, ...(list('additionalLiveAccounts', get('additionalLiveAccounts')) ?? [])],
    // shared snapshots are visible only in their own region: look where Live shares from
    sourceRegions: [liveRegion, ...(list('additionalLiveRegions', get('additionalLiveRegions')) ?? [])],
    topicName: get('topicName') as string | undefined,
    retention: get('retention') as RetentionProps | undefined,
    minKeep: get('minKeep') as number | undefined,
    newestCopyMaxAgeHours: get('newestCopyMaxAgeHours') as number | undefined,
    retiredSources: list('retiredSources', get('retiredSources')),
    cadenceSources: cadenceSources(get('cadences'), liveAccount),
    sourceCopyWaits: sourceCopyWaits(get('copyWaits'), liveAccount),
    encryptUnencrypted: get('failsafeEncryptUnencrypted') as boolean | undefined,
    restoreDrill: get('restoreDrill') as RestoreDrillProps | undefined,
    alerts: alerts(get('failsafeAlertTopicArn')),
    breakGlassRole: breakGlassRoleName(f('breakGlassRole'), get('breakGlassRole')),
    bootstrapQualifier: bootstrapQualifierOf('@aws-cdk/core:bootstrapQualifier', bootstrapQualifier),
  };
  return {
    live: {
      account: liveAccount,
      region: liveRegion,
      props: {
        ...shared,
        schedule: get('liveSchedule') as string | undefined,
        sources: list('sources', get('sources')) ?? [],
        incrementalSources: list('incrementalSources', get('incrementalSources')),
        cadences: get('cadences') as LiveAccountProps['cadences'],
        copyWaits: get('copyWaits') as LiveAccountProps['copyWaits'],
        failsafe: [
          { account: failsafeAccount, region: failsafeRegion, topicName: get('topicName') as string | undefined },
          ...additionalFailsafe,
        ],
        liveKeep: get('liveKeep') as number | undefined,
        encryptUnencrypted: get('liveEncryptUnencrypted') as boolean | undefined,
        alerts: alerts(get('liveAlertTopicArn')),
      },
    },
    failsafe: { account: failsafeAccount, region: failsafeRegion, props: failsafeProps },
    guardrails: guardrailsConfig(get('guardrails'), failsafeAccount, failsafeProps),
  };
}
