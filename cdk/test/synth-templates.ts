// Both stacks' CloudFormation templates (and the management account's guardrails, when configured) for one configuration, as JSON on stdout: what the local
// stack deploys from (tools/local/rdsf_local/templates.py), so its key policies, topic policy,
// function environment and role policies are the synthesized ones, not a second copy.
//
//   echo '{"liveAccount": "111111111111", ...}' | node --import tsx test/synth-templates.ts
//
// stdin holds the `rds-failsafe` context object (cdk.json's fields); cdk.json's feature flags
// apply. The Lambda packages are empty zips: the templates do not depend on their content.
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CONTEXT_KEY } from '../lib/app-config';
import { buildApp } from '../lib/stacks';
import { CDK_DIR, cdkJsonContext, LAMBDA_DIR } from './helpers';

const context = JSON.parse(readFileSync(0, 'utf8'));
process.env.RDSF_LAMBDA_DIR = LAMBDA_DIR;
try {
  const { live, failsafe, guardrails } = buildApp(new App({ context: { ...cdkJsonContext(), [CONTEXT_KEY]: context } }), CDK_DIR);
  process.stdout.write(
    JSON.stringify({
      live: Template.fromStack(live).toJSON(),
      failsafe: Template.fromStack(failsafe).toJSON(),
      ...(guardrails ? { guardrails: Template.fromStack(guardrails).toJSON() } : {}),
    }),
  );
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
