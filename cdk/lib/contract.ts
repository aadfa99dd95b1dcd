/**
 * The names that cross languages (contract/contract.json), as the CDK app reads them: tasks,
 * tag keys, name prefixes, metric names, the share-key actions, error types and setting ranges.
 * The Lambdas (lambdas/core/build.rs), the policy proof and the local stack read the same file.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export type Machine = 'live' | 'failsafe' | 'drill';

export interface ContractTask {
  /** The state machines whose Task states invoke it (`statemachines/<machine>.asl.json`). */
  readonly machines: Machine[];
  /** The ASL placeholder its function's ARN fills in; absent for a task no machine invokes. */
  readonly placeholder?: string;
  readonly description: string;
}

export interface Setting {
  readonly env: string;
  readonly default?: number;
  readonly min: number;
  readonly max: number;
}

export interface Contract {
  readonly tasks: Record<string, ContractTask>;
  readonly tags: Record<
    | 'managed'
    | 'sourceAccount'
    | 'sourceRegion'
    | 'sourceId'
    | 'sourceSnapshotArn'
    | 'sourceCreateTime'
    | 'kind'
    | 'verified'
    | 'drill'
    | 'restoredFrom'
    | 'restoreTested'
    | 'task'
    | 'hold',
    string
  >;
  readonly provenanceTags: string[];
  readonly names: { copyPrefix: string; drillPrefix: string; toolRolePath: string; breakGlassRole: string; drillRecordsLogGroup: string };
  readonly metrics: Record<
    | 'namespace'
    | 'newestVerifiedCopyAgeHours'
    | 'copiesSaved'
    | 'copiesFailed'
    | 'drillPassed'
    | 'drillFailed'
    | 'restoreSeconds'
    | 'copySeconds'
    | 'copySizeGib'
    | 'copyIncremental'
    | 'drillRtoBreached',
    string
  >;
  readonly shareKeyActions: string[];
  readonly errorTypes: string[];
  /** The environment variables the Lambdas read (and the older names they also answer to). */
  readonly environment: Record<string, { aliases?: string[]; description: string }>;
  readonly settings: Record<
    | 'liveKeep'
    | 'minKeep'
    | 'retentionDays'
    | 'keepHourly'
    | 'keepDaily'
    | 'keepWeekly'
    | 'keepMonthly'
    | 'maxConcurrency'
    | 'copyThroughputMiBps',
    Setting
  >;
}

export const CONTRACT_FILE = path.resolve(__dirname, '..', '..', 'contract', 'contract.json');
export const CONTRACT: Contract = JSON.parse(readFileSync(CONTRACT_FILE, 'utf8'));

/** The tag keys a copy is created with, and no other. */
export const PROVENANCE_TAGS: string[] = CONTRACT.provenanceTags.map((k) => CONTRACT.tags[k as keyof Contract['tags']]);

/** A state machine's tasks: ASL placeholder -> the task's name and description. */
export function tasksOf(machine: Machine): Record<string, { task: string; description: string }> {
  return Object.fromEntries(
    Object.entries(CONTRACT.tasks)
      .filter(([, t]) => t.machines.includes(machine))
      .map(([task, t]) => [t.placeholder!, { task, description: t.description }]),
  );
}

/** One task by name. */
export function task(name: string): { task: string; description: string } {
  const t = CONTRACT.tasks[name];
  if (!t) throw new Error(`${CONTRACT_FILE}: no task ${name}`);
  return { task: name, description: t.description };
}
