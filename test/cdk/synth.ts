// Builds the app for assertions: cdk.json's context (feature flags) as the CLI passes it,
// bundling skipped (it is tested by the local cloud and the bench, and is slow).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type UpmanApp } from '../../cdk/app.js';

export function cdkJsonContext(): Record<string, unknown> {
  return (
    JSON.parse(readFileSync(join(process.cwd(), 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
  ).context;
}

export interface SynthesizedApp extends UpmanApp {
  management: UpmanApp['management'];
  managementTemplate: Template;
  vendorTemplate: Template;
  /** Thrown by synth when a policy validation (cdk-nag) fails, else undefined. */
  synthError: Error | undefined;
}

export function synthApp(
  extraContext: Record<string, unknown> = {},
  modify?: (built: UpmanApp) => void,
): SynthesizedApp {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'upman-cdk-')),
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...extraContext },
  });
  const built = buildApp(app);
  modify?.(built);
  let synthError: Error | undefined;
  try {
    app.synth();
  } catch (error) {
    synthError = error as Error;
  }
  if (synthError) {
    // No templates to assert on: synthesis itself failed.
    const fail = () => {
      throw synthError;
    };
    return {
      ...built,
      synthError,
      get managementTemplate() {
        return fail();
      },
      get vendorTemplate() {
        return fail();
      },
    };
  }
  return {
    ...built,
    managementTemplate: Template.fromStack(built.management),
    vendorTemplate: Template.fromStack(built.vendor),
    synthError,
  };
}

/** What any stage but dev requires: a real issuer and sender. */
export const PROD_BASICS = {
  auth: { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example', audience: ['client'] },
  mail: { sender: 'upman@example.com' },
};

/** A prod synth with the vendor site in its own account and region (claim 9). */
export const TWO_ACCOUNT_PROD = {
  stage: 'prod',
  config: JSON.stringify({
    ...PROD_BASICS,
    env: { account: '111111111111', region: 'eu-west-1' },
    vendorEnv: { account: '222222222222', region: 'us-east-2' },
  }),
};
