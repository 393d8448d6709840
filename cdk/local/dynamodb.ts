// DynamoDB Local: the jar that ships inside the npm package amplify-dynamodb-simulator, run
// with the machine's java. Data lives in dataDir (one shared database file), so it survives a
// restart; tests may ask for an in-memory database instead.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface LocalDynamoDbOptions {
  port: number;
  /** Directory of the database file; undefined keeps everything in memory. */
  dataDir?: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /**
   * C1 only (-XX:TieredStopAtLevel=1): about half the JVM's start-up CPU, for slower steady state.
   * npm start takes it (a person's clicks); the test suite's busy cloud keeps the full JIT.
   */
  quickStart?: boolean;
}

export interface LocalDynamoDb {
  url: string;
  stop(): Promise<void>;
}

export function dynamoDbLocalDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('amplify-dynamodb-simulator/package.json')), 'emulator');
}

export async function startLocalDynamoDb(options: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
  const dir = dynamoDbLocalDir();
  const args = [
    '-XX:+UseSerialGC',
    '-Xshare:auto',
    ...(options.quickStart ? ['-XX:TieredStopAtLevel=1'] : []),
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(dir, 'DynamoDBLocal.jar'),
    '-port',
    String(options.port),
    '-sharedDb',
  ];
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    args.push('-dbPath', options.dataDir);
  } else {
    args.push('-inMemory');
  }
  const child = spawn('java', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`Cannot run java for DynamoDB Local: ${err.message}`)));
    child.once('exit', (code) =>
      reject(new Error(`DynamoDB Local exited (${code}) before it was ready:\n${output}`)),
    );
  });
  exited.catch(() => {}); // raced below, once the client is loaded
  // If this process dies without stopping us, the JVM must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${options.port}`;
  // Loaded while the JVM boots: npm start spawns it before it loads anything heavy.
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient({
    endpoint: url,
    region: options.region,
    credentials: options.credentials,
    maxAttempts: 1,
  });
  try {
    await Promise.race([exited, waitUntilReady(client)]);
  } catch (error) {
    process.off('exit', killOnExit);
    child.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }
  child.removeAllListeners('exit');
  return {
    url,
    stop: async () => {
      process.off('exit', killOnExit);
      await stopChild(child);
    },
  };
}

async function waitUntilReady(client: DynamoDBClient): Promise<void> {
  const { ListTablesCommand } = await import('@aws-sdk/client-dynamodb');
  // Generous: the JVM can take a minute on a busy machine; a JVM that died ends the wait at once
  // (the race with its exit), so this only bounds a live one that never answers.
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`DynamoDB Local did not answer within 180 s: ${String(error)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
