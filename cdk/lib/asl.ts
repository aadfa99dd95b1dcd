import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The repository's state machines: the only place control flow lives. */
export const STATEMACHINES_DIR = path.resolve(__dirname, '..', '..', 'statemachines');

const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

/** Every `${Name}` placeholder in an ASL text, sorted and distinct. */
function placeholders(asl: string): string[] {
  return [...new Set([...asl.matchAll(PLACEHOLDER)].map((m) => m[1]))].sort();
}

export interface AslFile {
  readonly file: string;
  /** The ASL text, placeholders left for Step Functions' DefinitionSubstitutions. */
  readonly text: string;
  readonly placeholders: string[];
  /** Placeholder -> the largest TimeoutSeconds of the Task states that use it as Resource. */
  readonly taskTimeouts: Record<string, number>;
  /** The execution timeout: the file's top-level TimeoutSeconds. */
  readonly timeoutSeconds: number;
}

/** Reads `statemachines/<name>` (or an absolute path). */
export function readAsl(name: string): AslFile {
  const file = path.resolve(STATEMACHINES_DIR, name);
  const text = readFileSync(file, 'utf8');
  const taskTimeouts: Record<string, number> = {};
  const visit = (states: Record<string, any>) => {
    for (const state of Object.values(states)) {
      const m = typeof state.Resource === 'string' ? /^\$\{([A-Za-z0-9_]+)\}$/.exec(state.Resource) : null;
      if (state.Type === 'Task' && m && typeof state.TimeoutSeconds === 'number') {
        taskTimeouts[m[1]] = Math.max(taskTimeouts[m[1]] ?? 0, state.TimeoutSeconds);
      }
      for (const branch of [state.Iterator, state.ItemProcessor, ...(state.Branches ?? [])]) {
        if (branch?.States) visit(branch.States);
      }
    }
  };
  const definition = JSON.parse(text);
  visit(definition.States);
  // The execution timeout lives in the ASL: with a string definition, aws-cdk-lib's StateMachine
  // ignores its `timeout` prop (it applies it to chainable definitions only; aws-cdk issue
  // 37150), so a machine without a top-level TimeoutSeconds would deploy with none at all, run
  // up to Step Functions' one year, overlap the next day's run, and never time out an alarm.
  const timeoutSeconds = definition.TimeoutSeconds;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
    throw new Error(`${path.basename(file)}: no top-level TimeoutSeconds; every state machine must say when an execution gives up`);
  }
  return { file, text, placeholders: placeholders(text), taskTimeouts, timeoutSeconds };
}

/**
 * Checks that `substitutions` covers exactly the file's placeholders: a missing one would deploy
 * a state machine that fails at its first Task, an extra one means the file and the construct
 * disagree about which functions exist.
 */
export function checkSubstitutions(asl: AslFile, substitutions: Record<string, unknown>): void {
  const given = Object.keys(substitutions).sort();
  const missing = asl.placeholders.filter((p) => !given.includes(p));
  const unused = given.filter((p) => !asl.placeholders.includes(p));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(
      `${path.basename(asl.file)}: placeholders and substitutions differ; ` +
        `no substitution for ${JSON.stringify(missing)}, not used by the file ${JSON.stringify(unused)}`,
    );
  }
}
