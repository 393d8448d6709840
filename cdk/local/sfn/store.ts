// Finished executions and API-created state machines, kept as JSON under dataDir so that a
// restarted local cloud still describes them. Running executions are not written: a task
// token wait cannot be resumed after a restart.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HistoryEvent } from './history.js';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  /** Epoch milliseconds. */
  startDate: number;
  stopDate?: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  events: HistoryEvent[];
}

export interface StoredStateMachine {
  name: string;
  arn: string;
  definition: string;
  roleArn?: string;
  creationDate: number;
}

export class SfnStore {
  private readonly executionsDir: string;
  private readonly machinesFile: string;

  constructor(dataDir: string) {
    this.executionsDir = join(dataDir, 'executions');
    this.machinesFile = join(dataDir, 'state-machines.json');
  }

  async init(): Promise<void> {
    await mkdir(this.executionsDir, { recursive: true });
  }

  async loadExecutions(): Promise<ExecutionRecord[]> {
    const out: ExecutionRecord[] = [];
    for (const file of await readdir(this.executionsDir)) {
      if (!file.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(await readFile(join(this.executionsDir, file), 'utf8')) as ExecutionRecord);
      } catch (err) {
        console.warn(`[sfn] skipping unreadable execution record ${file}: ${(err as Error).message}`);
      }
    }
    return out;
  }

  async saveExecution(record: ExecutionRecord): Promise<void> {
    const id = createHash('sha256').update(record.executionArn).digest('hex').slice(0, 40);
    await writeAtomically(join(this.executionsDir, `${id}.json`), JSON.stringify(record));
  }

  async loadStateMachines(): Promise<StoredStateMachine[]> {
    try {
      return JSON.parse(await readFile(this.machinesFile, 'utf8')) as StoredStateMachine[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async saveStateMachines(machines: StoredStateMachine[]): Promise<void> {
    await writeAtomically(this.machinesFile, JSON.stringify(machines, null, 2));
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}
