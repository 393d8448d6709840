// The README's walk, command for command: the `npx upman …` lines are read from README.md's
// "A walk through the system" code blocks and run, in order, against a local cloud started and
// seeded as `npm start` does, as a newcomer would type them. Placeholders (<requestId>,
// <batchId>) get the values the earlier commands printed; /tmp/pc becomes a scratch folder. The
// approver's step is the one the README describes in words: the mail in the local mailbox, its
// link, Approve. If the README drifts from the CLI, this test fails.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Endpoints } from '../../cdk/local/cloud.js';
import { claimPort, SERVICES } from '../../cdk/local/ports.js';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';
import { type CliResult, upman } from '../fixtures/agent/cli.js';

const root = process.cwd();
const dataDir = mkdtempSync(join(tmpdir(), 'upman-walk-'));
const work = mkdtempSync(join(tmpdir(), 'upman-walk-pc-'));
let child: ChildProcess | undefined;
let endpoints: Endpoints;

/** The walk's code blocks: every `npx upman …` line of the README section, comment removed. */
function walkCommands(readme: string): string[][][] {
  const section = readme.split(/^## A walk through the system$/m)[1]?.split(/^## /m)[0];
  if (!section) throw new Error('README.md has no "## A walk through the system" section');
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.map((block) =>
    block
      .split('\n')
      .map((line) => words(line))
      .filter((w) => w[0] === 'npx' && w[1] === 'upman')
      .map((w) => w.slice(2)),
  );
}

/** A shell line's words: double quotes group, an unquoted # starts a comment. */
function words(line: string): string[] {
  const out: string[] = [];
  let current: string | undefined;
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') {
      quoted = !quoted;
      current ??= '';
    } else if (!quoted && ch === '#') {
      break;
    } else if (!quoted && /\s/.test(ch)) {
      if (current !== undefined) out.push(current);
      current = undefined;
    } else {
      current = (current ?? '') + ch;
    }
  }
  if (current !== undefined) out.push(current);
  return out;
}

/** `npm start` (seeding the demo data) on free ports, in its own data directory. */
beforeAll(async () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const service of SERVICES)
    env[`UPMAN_PORT_${service.toUpperCase()}`] = String(await claimPort(service, 0));
  child = spawn(process.execPath, ['bin/start.mjs', '--data-dir', dataDir], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('local cloud ready')) resolve();
    };
    child!.stdout!.on('data', onData);
    child!.stderr!.on('data', onData);
    child!.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
  });
  endpoints = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as Endpoints;
}, 600_000);

afterAll(async () => {
  const running = child;
  if (running && running.exitCode === null) {
    await new Promise((resolve) => {
      running.once('exit', resolve);
      running.kill('SIGINT');
    });
  }
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe("the README's walk", () => {
  it('starts from an endpoints file with the local key pair and nothing SDK-internal', () => {
    expect(endpoints.credentials).toEqual({
      accessKeyId: expect.any(String),
      secretAccessKey: expect.any(String),
    });
    expect(JSON.stringify(endpoints)).not.toContain('$source');
  });

  it('reaches an installed update with the commands as written', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const blocks = walkCommands(readme);
    expect(blocks).toHaveLength(2); // before the approver's decision, and after it
    const env = {
      UPMAN_LOCAL_DIR: dataDir,
      UPMAN_CLIENT: `pc-walk-${Math.random().toString(36).slice(2, 8)}`,
      XDG_CONFIG_HOME: join(work, 'config'),
    };
    const pc = join(work, 'pc');
    const values: Record<string, string> = {};
    const driver = new WorkflowDriver(endpoints, dataDir);
    const transcript: string[] = [];

    const runLine = async (args: string[]): Promise<CliResult> => {
      const filled = args.map((a) =>
        a.replace('/tmp/pc', pc).replace(/<(\w+)>/g, (whole, name: string) => {
          if (!values[name]) throw new Error(`${whole} in "${args.join(' ')}" has no value yet`);
          return values[name]!;
        }),
      );
      const result = await upman(filled, env);
      transcript.push(`$ upman ${filled.join(' ')}  → ${result.code}\n${result.stdout}${result.stderr}`);
      expect(result.code, transcript.join('\n')).toBe(0);
      return result;
    };

    for (const args of blocks[0]!) {
      // A person closes the batch once `status` shows S502; the machine gets there asynchronously.
      if (args[0] === 'finance' && args[1] === 'close')
        await driver.untilStep('ando', values.requestId!, 'S502');
      const result = await runLine(args);
      if (args[0] === 'request') {
        values.requestId = /Filed request (\S+)/.exec(result.stdout)?.[1] ?? '';
        expect(values.requestId, result.stdout).not.toBe('');
      }
      if (args[0] === 'finance' && args[1] === 'batches') {
        // The batch holding this walk's request: the one `finance batches` lists with its line.
        const { batchId } = await driver.lineOf(values.requestId!);
        expect(result.stdout).toContain(`batch ${batchId}`);
        values.batchId = batchId;
      }
    }

    // The approver, as the README says: the mail in the local mailbox, its link, sign in as
    // okachi on the local login page, Approve.
    expect(readme).toContain("choose okachi on the local issuer's login page");
    const mails = await driver.mailsTo('okachi', /^Approve OfficeSuite/);
    const mail = mails.find((m) => m.body.text?.includes(values.requestId!));
    expect(mail, 'the approval mail to okachi names the request').toBeDefined();
    const link = WorkflowDriver.linkOf(mail!);
    const page = await driver.open(link);
    expect((await driver.decide(link, page.html, 'approve', 'Go ahead', { as: 'okachi' })).status).toBe(200);
    await driver.untilStatus('ando', values.requestId!, 'APPROVED');

    let installed: CliResult | undefined;
    for (const args of blocks[1]!) {
      const result = await runLine(args);
      if (args[0] === 'download') installed = result;
    }
    expect(installed?.stdout).toMatch(/Installed OfficeSuite 2\.10 \(revision 2100\)/);
    expect(readFileSync(join(pc, 'OfficeSuite', 'bin', 'officesuite'), 'utf8')).toContain('OfficeSuite 2.10');
  }, 600_000);
});
