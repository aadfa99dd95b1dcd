import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { appConfig, CONTEXT_FIELDS } from '../lib/app-config';
import { checkSubstitutions, readAsl } from '../lib/asl';
import { LiveAccount } from '../lib/live-account';
import { CDK_DIR, cdkJsonContext, FAILSAFE, failsafeStack, LIVE, liveProps, liveStack } from './helpers';

/** Asserts that building throws an error whose message contains every one of `parts`. */
function fails(build: () => unknown, ...parts: string[]) {
  assert.throws(build, (e: Error) => {
    for (const part of parts) assert.ok(e.message.includes(part), `"${e.message}" should mention "${part}"`);
    return true;
  });
}

describe('LiveAccount props are validated at synth, naming the field and the fix', () => {
  test('bad account id', () => fails(() => liveStack({ failsafe: [{ account: '2222' }] }), 'failsafe[0].account', '12-digit'));
  test('no sources', () => fails(() => liveStack({ sources: [] }), 'sources', 'no sources given', '"all"'));
  test('a blank or comma-joined source', () => {
    fails(() => liveStack({ sources: ['orders', ' '] }), 'sources[1]');
    fails(() => liveStack({ sources: ['a,b'] }), 'sources[0]', 'one array entry per selector');
  });
  test('concurrency above 20', () => fails(() => liveStack({ maxConcurrency: 21 }), 'maxConcurrency', 'from 1 to 20'));
  test('a copy throughput of nothing, or a fraction', () => {
    fails(() => liveStack({ copyThroughputMiBps: 0 }), 'copyThroughputMiBps', 'from 1 to 100000');
    fails(() => liveStack({ copyThroughputMiBps: 2.5 }), 'copyThroughputMiBps', 'whole number');
  });
  test('Failsafe account equal to the Live account', () =>
    fails(() => liveStack({ failsafe: [{ account: LIVE }] }), 'failsafe[0].account', 'is the Live account itself'));
  test('more than 20 Failsafe accounts, or one twice', () => {
    const many = Array.from({ length: 21 }, (_, i) => ({ account: String(300000000000 + i) }));
    fails(() => liveStack({ failsafe: many }), 'failsafe', 'at most 20');
    fails(() => liveStack({ failsafe: [{ account: FAILSAFE }, { account: FAILSAFE }] }), 'failsafe', 'listed twice');
  });
  test('bad schedule, time zone, region, liveKeep', () => {
    fails(() => liveStack({ schedule: 'daily at 5' }), 'schedule', 'cron(0 5 * * ? *)');
    fails(() => liveStack({ scheduleTimeZone: 'Central European Time' }), 'scheduleTimeZone', 'IANA');
    fails(() => liveStack({ failsafe: [{ account: FAILSAFE, region: 'Frankfurt' }] }), 'failsafe[0].region', 'eu-west-1');
    fails(() => liveStack({ liveKeep: 0 }), 'liveKeep', 'from 1 to 50');
  });
  test('nobody to alert', () => {
    fails(() => liveStack({ alerts: {} }), 'alerts', 'emails and/or topicArn');
    fails(() => liveStack({ alerts: { emails: ['oncall'] } }), 'alerts.emails[0]', 'e-mail');
    fails(() => liveStack({ alerts: { topicArn: `arn:aws:sns:eu-west-1:${FAILSAFE}:pager` } }), 'alerts.topicArn', `account ${LIVE}`);
  });
  test('a stack without an explicit account and region', () => {
    fails(() => new LiveAccount(new Stack(new App(), 'NoEnv'), 'Live', liveProps()), 'env', "account: '111111111111'");
  });
  test('a missing Lambda zip says to run make package', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'rdsf-nozips-'));
    fails(() => liveStack({ lambdaDir: empty }), path.join(empty, 'select-sources', 'bootstrap.zip'), 'Run `make package`', 'lambdaDir');
  });
});

describe('FailsafeAccount props are validated at synth', () => {
  test('bad or own source account', () => {
    fails(() => failsafeStack({ sourceAccounts: ['abc'] }), 'sourceAccounts[0]', '12-digit');
    fails(() => failsafeStack({ sourceAccounts: [] }), 'sourceAccounts', 'at least one');
    fails(() => failsafeStack({ sourceAccounts: [LIVE, FAILSAFE] }), 'sourceAccounts', 'the Failsafe account itself');
  });
  test('retention below the floor', () => {
    fails(() => failsafeStack({ minKeep: 0 }), 'minKeep', 'from 1 to 1000', 'never pruned');
    fails(() => failsafeStack({ retiredSources: ['orders'] }), 'retiredSources[0]', '<live-account>:<source-id>');
    fails(() => failsafeStack({ retiredSources: [`${FAILSAFE}:orders`] }), 'retiredSources[0]', 'one of sourceAccounts');
    fails(() => failsafeStack({ retention: { days: 0 } }), 'retention.days', 'from 1 to 36500');
    fails(() => failsafeStack({ retention: { daily: 0, weekly: 0, monthly: 0 } }), 'retention', 'keeps nothing beyond minKeep');
    fails(() => failsafeStack({ retention: { days: 30, daily: 7 } }), 'retention', 'days and daily are both set');
    fails(() => failsafeStack({ retention: { daily: 1.5 } }), 'retention.daily', 'whole number');
  });
  test('concurrency, age threshold, topic name', () => {
    fails(() => failsafeStack({ maxConcurrency: 0 }), 'maxConcurrency', 'from 1 to 20');
    fails(() => failsafeStack({ newestCopyMaxAgeHours: 12 }), 'newestCopyMaxAgeHours', 'from 24 to 720', 'every day');
    fails(() => failsafeStack({ topicName: 'rds failsafe' }), 'topicName', 'SNS topic name');
  });
  test('a missing Lambda zip says to run make package', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'rdsf-nozips-'));
    fails(() => failsafeStack({ lambdaDir: empty }), 'Run `make package`');
  });
});

describe("the ready app's context", () => {
  const base = () => structuredClone(cdkJsonContext()['rds-failsafe']) as Record<string, unknown>;
  test("cdk.json parses into both stacks' props", () => {
    const c = appConfig(base(), CDK_DIR, {});
    assert.equal(c.live.account, '111111111111');
    assert.equal(c.failsafe.account, '222222222222');
    assert.deepEqual(c.failsafe.props.sourceAccounts, ['111111111111']);
    assert.equal(c.live.props.lambdaDir, path.resolve(CDK_DIR, '..', 'target', 'lambda'));
    assert.equal(appConfig(base(), CDK_DIR, { RDSF_LAMBDA_DIR: '/zips' }).live.props.lambdaDir, '/zips');
  });
  test("a cadence's sources named by id get their own copy-age alarm on the Failsafe side; by tag or pattern they cannot", () => {
    const c = appConfig(
      { ...base(), cadences: [{ sources: ['orders', 'cluster:Ledger', 'tag:rpo=4h', 'pattern:x-*'], everyHours: 4 }] },
      CDK_DIR,
      {},
    );
    assert.deepEqual(c.failsafe.props.cadenceSources, [
      { sourceAccount: '111111111111', sourceId: 'orders', everyHours: 4 },
      { sourceAccount: '111111111111', sourceId: 'ledger', everyHours: 4 },
    ]);
    assert.equal(appConfig(base(), CDK_DIR, {}).failsafe.props.cadenceSources, undefined);
  });
  test('copyWaits reach the Live stack as they are and the Failsafe stack for the sources named by id', () => {
    const c = appConfig({ ...base(), copyWaits: [{ sources: ['cluster:ledger', 'tag:size=big'], maxWaitSeconds: 43200 }] }, CDK_DIR, {});
    assert.deepEqual(c.live.props.copyWaits, [{ sources: ['cluster:ledger', 'tag:size=big'], maxWaitSeconds: 43200 }]);
    assert.deepEqual(c.failsafe.props.sourceCopyWaits, [{ sourceAccount: '111111111111', sourceId: 'ledger', maxWaitSeconds: 43200 }]);
    assert.equal(appConfig(base(), CDK_DIR, {}).failsafe.props.sourceCopyWaits, undefined);
  });
  test('Failsafe account equal to Live', () => {
    fails(
      () => appConfig({ ...base(), failsafeAccount: '111111111111' }, CDK_DIR, {}),
      'rds-failsafe.failsafeAccount',
      'equals liveAccount',
    );
  });
  test('an account id written as a number, a missing region, a typo in a field name', () => {
    fails(() => appConfig({ ...base(), liveAccount: 111111111111 }, CDK_DIR, {}), 'rds-failsafe.liveAccount', 'as a string');
    fails(() => appConfig({ ...base(), liveRegion: undefined }, CDK_DIR, {}), 'rds-failsafe.liveRegion');
    fails(() => appConfig({ ...base(), sorces: ['x'] }, CDK_DIR, {}), 'rds-failsafe.sorces', 'unknown field', 'sources');
    fails(() => appConfig(undefined, CDK_DIR, {}), 'rds-failsafe', 'cdk/cdk.json');
  });
  test('additionalFailsafeAccounts: each a Failsafe target of the Live stack, bad entries refused by path', () => {
    const c = appConfig({ ...base(), additionalFailsafeAccounts: [{ account: '333333333333', region: 'us-east-1' }] }, CDK_DIR, {});
    assert.deepEqual(
      c.live.props.failsafe.map((t) => [t.account, t.region]),
      [
        ['222222222222', 'eu-west-1'],
        ['333333333333', 'us-east-1'],
      ],
    );
    const f = 'rds-failsafe.additionalFailsafeAccounts';
    fails(() => appConfig({ ...base(), additionalFailsafeAccounts: '333333333333' }, CDK_DIR, {}), f, 'must be a list');
    fails(
      () => appConfig({ ...base(), additionalFailsafeAccounts: [{ account: '111111111111' }] }, CDK_DIR, {}),
      `${f}[0].account`,
      'equals liveAccount',
    );
    fails(
      () => appConfig({ ...base(), additionalFailsafeAccounts: [{ account: '222222222222' }] }, CDK_DIR, {}),
      `${f}[0].account`,
      'named twice',
    );
    fails(
      () => appConfig({ ...base(), additionalFailsafeAccounts: [{ account: '333333333333', regoin: 'x' }] }, CDK_DIR, {}),
      `${f}[0].regoin`,
      'unknown field',
    );
    fails(
      () => appConfig({ ...base(), additionalFailsafeAccounts: [{ account: '333333333333', region: 'mars-1' }] }, CDK_DIR, {}),
      `${f}[0].region`,
    );
  });
  test('docs/configuration.md documents every context field', () => {
    const readme = readFileSync(path.join(CDK_DIR, '..', 'docs', 'configuration.md'), 'utf8');
    for (const field of Object.keys(CONTEXT_FIELDS)) assert.ok(readme.includes(`| \`${field}\` |`), field);
  });
  test('a JSON object given with -c is parsed; lists may be comma-separated', () => {
    const c = appConfig(JSON.stringify({ ...base(), sources: 'orders, cluster:billing', alertEmails: 'a@example.com' }), CDK_DIR, {});
    assert.deepEqual(c.live.props.sources, ['orders', 'cluster:billing']);
    assert.deepEqual(c.live.props.alerts.emails, ['a@example.com']);
  });
});

describe('ASL substitutions', () => {
  test('a missing or an extra substitution is refused by name', () => {
    const asl = readAsl('live.asl.json');
    const all = Object.fromEntries(asl.placeholders.map((p) => [p, 'arn']));
    checkSubstitutions(asl, all);
    const { ShareFunctionArn: _, ...missing } = all;
    fails(() => checkSubstitutions(asl, missing), 'live.asl.json', '["ShareFunctionArn"]');
    fails(() => checkSubstitutions(asl, { ...all, PruneFunctionArn: 'arn' }), 'not used by the file ["PruneFunctionArn"]');
  });
  test('both files have the placeholders the constructs fill', () => {
    assert.deepEqual(readAsl('live.asl.json').placeholders, [
      'CopyLatestFunctionArn',
      'DeleteOldCopiesFunctionArn',
      'NotifyFunctionArn',
      'PreflightFunctionArn',
      'SelectSourcesFunctionArn',
      'ShareFunctionArn',
      'WaitAvailableFunctionArn',
    ]);
    assert.deepEqual(readAsl('failsafe.asl.json').placeholders, [
      'FindSharedFunctionArn',
      'PruneFunctionArn',
      'SaveFunctionArn',
      'VerifyFunctionArn',
      'WaitAvailableFunctionArn',
    ]);
  });
});
