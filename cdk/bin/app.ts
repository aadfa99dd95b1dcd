#!/usr/bin/env node
// The ready app: `npx cdk synth` / `npx cdk deploy <stack> --profile <account's profile>` in cdk/.
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../lib/stacks';

const app = new App();
try {
  buildApp(app, path.resolve(__dirname, '..'));
} catch (e) {
  // A configuration mistake is the operator's to fix: say what and where, without a stack trace.
  console.error(`\n${(e as Error).message}\n`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
