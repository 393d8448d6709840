// `npm start`: the whole system on this machine, with demo data. Ctrl-C stops everything;
// data under .local/ survives a restart. DynamoDB Local's JVM is the slowest part of a start, so
// it is spawned first, before the rest of the local cloud loads (few imports above that point).
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import type { Endpoints } from './cloud.js';
import { DEFAULT_REGION, DEVELOPER_CREDENTIALS } from './developer.js';
import { startLocalDynamoDb } from './dynamodb.js';
import { claimPort, portsFromEnv } from './ports.js';
import { TWO_ACCOUNT_STAGE_CONFIG } from './two-accounts.js';

const program = new Command()
  .name('npm start')
  .description('Runs the upman local cloud: API, registry, workflow, mail, S3, queues, on 127.0.0.1')
  .option('--data-dir <dir>', 'where the local cloud keeps its data', '.local')
  .option('--no-seed', 'do not write the demo data')
  .option('--time-scale <n>', 'speed up Step Functions waits and timeouts (e.g. 60)', '1')
  .option('--assembly-dir <dir>', 'where the synthesized app goes (bench: a cold synth)', 'cdk.out')
  .option(
    '--two-accounts',
    'the vendor site in an account of its own (cdk/local/two-accounts.ts), kept apart in .local/two-accounts',
  )
  .parse();

const opts = program.opts<{
  dataDir: string;
  seed: boolean;
  timeScale: string;
  assemblyDir: string;
  twoAccounts?: boolean;
}>();
// A two-account run keeps its data and templates apart, so the usual ones are not synthesized over.
if (opts.twoAccounts) {
  if (program.getOptionValueSource('dataDir') === 'default') opts.dataDir = '.local/two-accounts';
  if (program.getOptionValueSource('assemblyDir') === 'default') opts.assemblyDir = `${opts.dataDir}/cdk.out`;
}
const root = process.cwd();
const started = Date.now();
const log = (line: string) => console.log(`[upman] ${line}`);

try {
  const timeScale = Number(opts.timeScale);
  if (!Number.isFinite(timeScale) || timeScale < 1) throw new Error('--time-scale must be a number ≥ 1');
  const ports = portsFromEnv();
  const dataDir = resolve(root, opts.dataDir);
  log('starting DynamoDB Local (a JVM) while the rest loads…');
  const dynamodb = startLocalDynamoDb({
    port: await claimPort('dynamodb (internal)', 0),
    region: DEFAULT_REGION,
    credentials: DEVELOPER_CREDENTIALS,
    dataDir: join(dataDir, 'dynamodb'),
    quickStart: true,
  });
  dynamodb.catch(() => {}); // awaited by startLocalCloud
  const [{ startLocalCloud }, { seedDemoData }] = await Promise.all([
    import('./cloud.js'),
    import('./seed.js'),
  ]);
  const cloud = await startLocalCloud({
    root,
    dataDir,
    assemblyDir: resolve(root, opts.assemblyDir),
    ports,
    timeScale,
    log,
    dynamodb,
    ...(opts.twoAccounts ? { stageConfig: JSON.stringify(TWO_ACCOUNT_STAGE_CONFIG) } : {}),
    ...(opts.seed ? { seed: (endpoints) => seedDemoData(endpoints, log, dataDir) } : {}),
  });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping…`);
    await cloud.stop();
    log('stopped; data kept in ' + opts.dataDir);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // Only now: a Ctrl-C that follows "ready" at once must find the handlers, or the JVM outlives us.
  printEndpoints(cloud.endpoints, Date.now() - started, opts.dataDir);
} catch (error) {
  console.error(`[upman] cannot start: ${error instanceof Error ? error.message : String(error)}`);
  if (process.env.UPMAN_DEBUG) console.error(error);
  process.exit(1);
}

function printEndpoints(e: Endpoints, ms: number, dataDir: string): void {
  const rows: Array<[string, string]> = [
    ['API', e.api],
    ['mailbox (SES viewer)', e.mail],
    ['S3', e.s3],
    ['DynamoDB', e.dynamodb],
    ['SQS', e.sqs],
    ['Step Functions', e.sfn],
    ['JWT issuer', e.issuer],
  ];
  console.log(`\nupman local cloud ready in ${(ms / 1000).toFixed(1)} s (region ${e.region})\n`);
  for (const [name, url] of rows) console.log(`  ${name.padEnd(22)} ${url}`);
  console.log(`\n  endpoints: ${dataDir}/endpoints.json`);
  console.log(
    '  sign in:   npx upman login --user ando   (a token for curl: npm run -s token -- --user ando)',
  );
  console.log('  stop:      Ctrl-C (data stays in ' + dataDir + ')\n');
}
