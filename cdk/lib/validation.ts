/**
 * Prop and context validation shared by both constructs. Every failure is a `ConfigError` whose
 * message names the field and says what to put there, so a bad configuration stops `cdk synth`
 * instead of deploying something that fails at 3 a.m.
 */

import type { Setting } from './contract';

export class ConfigError extends Error {
  constructor(field: string, problem: string) {
    super(`invalid rds-failsafe configuration: ${field}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const ACCOUNT_ID = /^\d{12}$/;
// Commercial, GovCloud and China partitions: eu-west-1, us-gov-west-1, cn-north-1, ap-southeast-5 ...
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

export function accountId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ACCOUNT_ID.test(value)) {
    throw new ConfigError(field, `${JSON.stringify(value)} is not a 12-digit AWS account id (write it as a string, e.g. "111111111111")`);
  }
  return value;
}

export function region(field: string, value: unknown): string {
  if (typeof value !== 'string' || !REGION.test(value)) {
    throw new ConfigError(field, `${JSON.stringify(value)} is not an AWS region name such as "eu-west-1"`);
  }
  return value;
}

/** A non-empty list of distinct region names. */
export function regionList(field: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(field, `${JSON.stringify(value)} must be a non-empty list of region names such as ["us-east-1"]`);
  }
  const out = value.map((v, i) => region(`${field}[${i}]`, v));
  return [...new Set(out)];
}

export function integer(field: string, value: unknown, min: number, max: number, why = ''): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(field, `${JSON.stringify(value)} must be a whole number from ${min} to ${max}${why ? ` (${why})` : ''}`);
  }
  return value;
}

/** A whole-number setting of the contract (contract/contract.json `settings`): its range and
 * default are the ones the Lambdas' configuration enforces. */
export function setting(field: string, value: unknown, s: Setting, why = ''): number {
  return integer(field, value ?? s.default, s.min, s.max, why);
}

export function boolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new ConfigError(field, `${JSON.stringify(value)} must be true or false`);
  }
  return value;
}

/** A distinct, non-empty list of account ids, none of them `own` (the account deploying it). */
export function accountList(field: string, value: unknown, max: number, own: string, ownRole: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(field, `give at least one 12-digit account id, e.g. ["222222222222"]`);
  }
  const ids = value.map((v, i) => accountId(`${field}[${i}]`, v));
  for (const id of ids) {
    if (id === own) {
      throw new ConfigError(
        field,
        `${id} is ${ownRole} itself; the Failsafe account must be a different account from every Live account, or a compromise of one reaches the copies`,
      );
    }
  }
  const distinct = [...new Set(ids)];
  if (distinct.length > max) {
    throw new ConfigError(field, `${distinct.length} accounts given, at most ${max} are allowed`);
  }
  return distinct;
}

/** EventBridge Scheduler expressions: cron(6 fields), rate(n unit) or at(yyyy-mm-ddThh:mm:ss). */
export function scheduleExpression(field: string, value: unknown): string {
  const ok =
    typeof value === 'string' &&
    (/^cron\((\S+\s){5}\S+\)$/.test(value) || /^rate\(\d+ (minute|minutes|hour|hours|day|days)\)$/.test(value));
  if (!ok) {
    throw new ConfigError(
      field,
      `${JSON.stringify(value)} is not a schedule expression; use e.g. "cron(0 5 * * ? *)" (05:00 daily, six fields) or "rate(1 day)"`,
    );
  }
  return value;
}

export function email(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
    throw new ConfigError(field, `${JSON.stringify(value)} is not an e-mail address`);
  }
  return value;
}

export function snsTopicArn(field: string, value: unknown, account: string): string {
  const m = typeof value === 'string' ? /^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):[A-Za-z0-9_-]{1,256}$/.exec(value) : null;
  if (!m) {
    throw new ConfigError(field, `${JSON.stringify(value)} is not an SNS topic ARN such as arn:aws:sns:eu-west-1:${account}:alerts`);
  }
  if (m[2] !== account) {
    throw new ConfigError(field, `the topic is in account ${m[2]}; alarms can only notify a topic in this stack's account ${account}`);
  }
  return value as string;
}

export function topicName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,256}$/.test(value)) {
    throw new ConfigError(field, `${JSON.stringify(value)} is not an SNS topic name (letters, digits, - and _, up to 256)`);
  }
  return value;
}
