// aws-local-stepfunctions (pinned in package-lock.json) with the corrections no wrapper can make
// (limits.mjs makes the others around the engine): its module source is rewritten as Node loads
// it (module.registerHooks, Node >= 22.15), each correction matching exactly once or the load
// fails, so a new engine version has them re-read (docs/asl-engines.md). RDSF_STOCK_MOTO=1 loads
// the bare engine, as for the other rule tests (tests/e2e/test_asl_runner.py).
import * as nodeModule from 'node:module';
import { basename } from 'node:path';

const ENGINE = import.meta.resolve('aws-local-stepfunctions');
const bare = process.env.RDSF_STOCK_MOTO === '1';

export const CORRECTIONS = [
  {
    // BaseIntrinsicFunction.call deletes every backslash of an intrinsic function's string result
    // (to drop the escapes of literal arguments), so States.JsonToString of a string holding a
    // quote, a newline or a backslash is not JSON: a drill's cause quoting PostgreSQL's `host
    // "127.0.0.1"` came out unparseable. On AWS, States.JsonToString "takes a JSON object and
    // returns its escaped string value" (Step Functions Developer Guide, "Intrinsic functions").
    // The result is kept as computed; the machines' literal arguments hold no escape, which
    // asl_runner.mjs checks (literalEscapes), so nothing relied on the deletion.
    name: 'intrinsic results keep their backslashes',
    from: '    if (typeof result === "string") {\n      result = result.replaceAll("\\\\", "");\n    }\n',
    to: '',
  },
];

/** The engine's module source with every correction applied; throws naming one that does not
 * match exactly once. */
export function corrected(source) {
  let text = source;
  for (const c of CORRECTIONS) {
    const matches = text.split(c.from).length - 1;
    if (matches !== 1) {
      throw new Error(
        `engine.mjs: the correction "${c.name}" matches ${matches} times in ${ENGINE}, not once: ` +
          're-read it against this version of aws-local-stepfunctions',
      );
    }
    text = text.replace(c.from, c.to);
  }
  return text;
}

// The one Node version check of the local ASL tools (asl_runner.mjs and fleet.mjs load the engine
// through here), evaluated before their own code: on Node < 22 every Task of the engine throws a
// TypeError (Promise.withResolvers) a States.ALL catcher swallows, a green run that tested
// nothing; and without module.registerHooks (22.15) the corrections cannot be made.
if (typeof nodeModule.registerHooks !== 'function') {
  console.error(
    `${basename(process.argv[1] ?? 'engine.mjs')}: Node >= 22 required (22.15 or newer, for ` +
      `module.registerHooks), this is ${process.versions.node}`,
  );
  process.exit(2);
}

if (!bare) {
  nodeModule.registerHooks({
    load(url, context, nextLoad) {
      const result = nextLoad(url, context);
      if (url !== ENGINE) return result;
      return { ...result, source: corrected(String(result.source)) };
    },
  });
}

export const { StateMachine } = await import('aws-local-stepfunctions');
