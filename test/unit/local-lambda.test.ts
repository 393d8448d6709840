import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handlerLocation, type LocalFunction, LocalLambdaRuntime } from '../../cdk/local/lambda/runtime.js';
import { loadAssembly, TemplateResolver } from '../../cdk/local/template.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'lambda-handler.mjs');
const HASH = 'a'.repeat(64);

let assemblyDir: string;
let runtime: LocalLambdaRuntime | undefined;

/** A two-function cloud assembly whose asset is the fixture handler module. */
function writeAssembly(dir: string): void {
  const assetDir = join(dir, `asset.${HASH}`);
  mkdirSync(assetDir, { recursive: true });
  cpSync(FIXTURE, join(assetDir, 'index.mjs'));
  const fn = (exportName: string, variables: Record<string, unknown>, timeout = 3) => ({
    Type: 'AWS::Lambda::Function',
    Properties: {
      Code: { S3Bucket: 'cdk-assets', S3Key: `${HASH}.zip` },
      Handler: `index.${exportName}`,
      Runtime: 'nodejs22.x',
      Timeout: timeout,
      Environment: { Variables: variables },
    },
  });
  const template = {
    Resources: {
      Greeter: fn('handler', { GREETING: 'hello from Greeter', TABLE_NAME: { Ref: 'Registry' } }),
      Other: fn('handler', { OTHER_ONLY: 'only Other has this' }),
      Sleeper: fn('sleep', {}, 1),
      Inline: {
        Type: 'AWS::Lambda::Function',
        Properties: { Code: { ZipFile: 'exports.handler = async () => 1;' }, Handler: 'index.handler' },
      },
      Registry: { Type: 'AWS::DynamoDB::Table', Properties: {} },
    },
  };
  writeFileSync(join(dir, 'Test.template.json'), JSON.stringify(template));
  writeFileSync(
    join(dir, 'Test.assets.json'),
    JSON.stringify({ files: { [HASH]: { source: { path: `asset.${HASH}`, packaging: 'zip' } } } }),
  );
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      artifacts: {
        Test: { type: 'aws:cloudformation:stack', properties: { templateFile: 'Test.template.json' } },
      },
    }),
  );
}

function templateRuntime(): LocalLambdaRuntime {
  const resolver = new TemplateResolver(loadAssembly(assemblyDir), {
    region: 'eu-west-1',
    sqsEndpoint: 'http://127.0.0.1:9324',
    apiEndpoint: 'http://127.0.0.1:3000',
  });
  runtime = LocalLambdaRuntime.fromTemplate(resolver, {
    AWS_REGION: 'eu-west-1',
    SHARED: 'from the base env',
  });
  return runtime;
}

/** A runtime over the fixture module with one function per export named. */
function fixtureRuntime(
  exports: Record<string, { timeoutMs?: number; environment?: Record<string, string> }>,
) {
  const functions: LocalFunction[] = Object.entries(exports).map(([name, options]) => ({
    logicalId: name,
    name,
    arn: `arn:aws:lambda:eu-west-1:000000000000:function:${name}`,
    handlerFile: FIXTURE,
    exportName: name,
    timeoutMs: options.timeoutMs ?? 3000,
    environment: options.environment ?? {},
    memorySize: 256,
    taskRoot: dirname(FIXTURE),
    runtime: 'nodejs22.x',
  }));
  runtime = new LocalLambdaRuntime(functions, 'eu-west-1', {}, { logDir: join(assemblyDir, 'logs') });
  return runtime;
}

beforeAll(() => {
  assemblyDir = mkdtempSync(join(tmpdir(), 'upman-lambda-'));
  writeAssembly(assemblyDir);
  return () => rmSync(assemblyDir, { recursive: true, force: true });
});

afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

describe('LocalLambdaRuntime.fromTemplate', () => {
  it('finds every function with its bundled asset, timeout and resolved variables', () => {
    const rt = templateRuntime();
    expect(rt.functions.map((f) => f.logicalId).sort()).toEqual(['Greeter', 'Inline', 'Other', 'Sleeper']);
    const greeter = rt.find('Greeter')!;
    expect(greeter.handlerFile).toBe(join(assemblyDir, `asset.${HASH}`, 'index.mjs'));
    expect(greeter.exportName).toBe('handler');
    expect(greeter.timeoutMs).toBe(3000);
    expect(greeter.arn).toBe('arn:aws:lambda:eu-west-1:000000000000:function:Greeter');
    expect(greeter.environment).toEqual({
      GREETING: 'hello from Greeter',
      TABLE_NAME: 'Registry',
    });
    expect(rt.find('Sleeper')!.timeoutMs).toBe(1000);
  });

  it('lists a function with inline code but refuses to run it, saying why', async () => {
    const rt = templateRuntime();
    await expect(rt.invoke('Inline', {})).rejects.toThrow(/inline Code.ZipFile is not supported/);
  });

  it('finds a function by name, ARN, qualified ARN and logical id', () => {
    const rt = templateRuntime();
    const arn = 'arn:aws:lambda:eu-west-1:000000000000:function:Other';
    expect(rt.find(arn)?.logicalId).toBe('Other');
    expect(rt.find(`${arn}:$LATEST`)?.logicalId).toBe('Other');
    expect(rt.find('Other')?.arn).toBe(arn);
    expect(rt.find('Nope')).toBeUndefined();
  });

  it('gives each function its own environment variables, as Lambda does', async () => {
    const rt = templateRuntime();
    const [greeter, other] = (await Promise.all([
      rt.invoke('Greeter', { n: 1 }),
      rt.invoke('arn:aws:lambda:eu-west-1:000000000000:function:Other', { n: 2 }),
    ])) as Array<Record<string, unknown>>;
    expect(greeter).toMatchObject({
      greeting: 'hello from Greeter',
      other: null,
      functionName: 'Greeter',
      contextName: 'Greeter',
      region: 'eu-west-1',
      event: { n: 1 },
    });
    expect(other).toMatchObject({
      greeting: null,
      other: 'only Other has this',
      functionName: 'Other',
      event: { n: 2 },
    });
    expect(greeter!.remaining).toBeGreaterThan(2000);
    expect(greeter!.remaining).toBeLessThanOrEqual(3000);
  });
});

describe('LocalLambdaRuntime.invoke', () => {
  it('keeps an environment warm between invocations', async () => {
    const rt = fixtureRuntime({ count: {} });
    expect(await rt.invoke('count', {})).toBe(1);
    expect(await rt.invoke('count', {})).toBe(2);
  });

  it('does not leak one function’s process.env changes into another function', async () => {
    const rt = fixtureRuntime({ setVariable: {}, readVariable: { environment: { MINE: 'reader' } } });
    expect(await rt.invoke('setVariable', { name: 'MINE', value: 'writer' })).toBe('writer');
    expect(await rt.invoke('readVariable', { name: 'MINE' })).toBe('reader');
    expect(process.env.MINE).toBeUndefined();
  });

  it('rejects with the function error’s type and message', async () => {
    const rt = fixtureRuntime({ fail: {} });
    const error = await rt.invoke('fail', {}).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'OrderRejected', message: 'order 42 has no budget' });
    await rt.stop(); // flushes the log file
    const log = readFileSync(join(assemblyDir, 'logs', 'fail.log'), 'utf8');
    expect(log).toContain('Invoke Error');
    expect(log).toContain('OrderRejected');
  });

  it('times out after the function timeout and starts a fresh environment next time', async () => {
    const rt = fixtureRuntime({ sleep: { timeoutMs: 300 }, count: {} });
    // The handler would sleep for ten minutes: only the function timeout ends it within the test's.
    await expect(rt.invoke('sleep', { ms: 600_000 })).rejects.toMatchObject({
      name: 'Sandbox.Timedout',
      message: 'Task timed out after 0.30 seconds',
    });
    await expect(rt.invoke('sleep', { ms: 10 })).resolves.toEqual({ slept: 10 });
  });

  it('runs concurrent invocations of one function side by side', async () => {
    const rt = fixtureRuntime({ rendezvous: { timeoutMs: 50_000 } });
    // Four invocations that each wait for all four: they finish only if they run side by side.
    const dir = join(assemblyDir, 'rendezvous');
    const results = await Promise.all([1, 2, 3, 4].map(() => rt.invoke('rendezvous', { dir, count: 4 })));
    expect(results).toEqual([{ met: 4 }, { met: 4 }, { met: 4 }, { met: 4 }]);
  });

  it('lets other invocations finish when one of them times out', async () => {
    const rt = fixtureRuntime({ sleep: { timeoutMs: 400 } });
    const slow = rt.invoke('sleep', { ms: 5000 });
    const quick = rt.invoke('sleep', { ms: 300 });
    await expect(slow).rejects.toMatchObject({ name: 'Sandbox.Timedout' });
    await expect(quick).resolves.toEqual({ slept: 300 });
  });

  it('fails the running invocation when the environment crashes, and recovers', async () => {
    const rt = fixtureRuntime({ crash: { timeoutMs: 3000 } });
    await expect(rt.invoke('crash', {})).rejects.toMatchObject({
      name: 'Error',
      message: 'boom outside the handler',
    });
    // A fresh environment serves the next call (which crashes the same way).
    await expect(rt.invoke('crash', {})).rejects.toMatchObject({ message: 'boom outside the handler' });
  });

  it('returns null for a handler that returns nothing, and supports callback handlers', async () => {
    const rt = fixtureRuntime({ nothing: {}, callback: {} });
    expect(await rt.invoke('nothing', {})).toBeNull();
    expect(await rt.invoke('callback', { value: 7 })).toEqual({ viaCallback: 7 });
  });

  it('reports a missing export as Runtime.HandlerNotFound and an unknown function as not found', async () => {
    const rt = fixtureRuntime({ noSuchExport: {} });
    await expect(rt.invoke('noSuchExport', {})).rejects.toMatchObject({ name: 'Runtime.HandlerNotFound' });
    await expect(rt.invoke('Ghost', {})).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('handlerLocation', () => {
  it('splits Handler into module file and export, preferring .js, .mjs, .cjs in that order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'upman-handler-'));
    try {
      writeFileSync(join(dir, 'index.mjs'), '');
      expect(handlerLocation(dir, 'index.handler')).toEqual({
        handlerFile: join(dir, 'index.mjs'),
        exportName: 'handler',
      });
      writeFileSync(join(dir, 'index.js'), '');
      expect(handlerLocation(dir, 'index.handler').handlerFile).toBe(join(dir, 'index.js'));
      expect(() => handlerLocation(dir, 'index')).toThrow(/file\.export/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
