// `npm run -s token -- --user alice --groups employees,approvers` prints a JWT for a demo user,
// signed by the local cloud's development issuer, and nothing else — so it can be captured:
//   TOKEN=$(npm run -s token -- --user alice --groups employees)
// It reads the issuer and audience from <data-dir>/endpoints.json, written by `npm start`.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { mintToken } from './issuer/index.js';

interface TokenOptions {
  user: string;
  groups: string[];
  ttl: number;
  dataDir: string;
}

function parseGroups(value: string): string[] {
  return value
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
}

function parseTtl(value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds < 1 || seconds > 604800) {
    throw new InvalidArgumentError('must be whole seconds from 1 to 604800');
  }
  return seconds;
}

/** The issuer settings the running (or last run) local cloud wrote. */
function readIssuerSettings(dataDir: string): { jwtIssuer: string; audience: string[] } {
  const file = join(dataDir, 'endpoints.json');
  if (!existsSync(file)) {
    throw new Error(`The local cloud has never been started here (no ${file}): run "npm start" once first`);
  }
  const endpoints = JSON.parse(readFileSync(file, 'utf8')) as { jwtIssuer?: unknown; audience?: unknown };
  if (typeof endpoints.jwtIssuer !== 'string' || endpoints.jwtIssuer === '') {
    throw new Error(`${file}: jwtIssuer is missing; restart the local cloud`);
  }
  const audience = endpoints.audience;
  if (!Array.isArray(audience) || audience.length === 0 || !audience.every((a) => typeof a === 'string')) {
    throw new Error(`${file}: audience must be a non-empty list of strings; restart the local cloud`);
  }
  return { jwtIssuer: endpoints.jwtIssuer, audience };
}

async function main(): Promise<void> {
  const program = new Command()
    .name('token')
    .description('Print a JWT for a demo user, signed by the local development issuer')
    .requiredOption('--user <name>', 'the user (the token subject), e.g. alice')
    .option('--groups <g1,g2>', 'comma-separated groups, e.g. employees,approvers', parseGroups, [])
    .option('--ttl <seconds>', 'lifetime of the token', parseTtl, 3600)
    .option('--data-dir <dir>', 'the local cloud data directory', '.local')
    .showHelpAfterError()
    .parse();
  const options = program.opts<TokenOptions>();
  try {
    const dataDir = resolve(options.dataDir);
    const { jwtIssuer, audience } = readIssuerSettings(dataDir);
    const token = await mintToken({
      dataDir,
      issuer: jwtIssuer,
      audience,
      user: options.user,
      groups: options.groups,
      ttlSeconds: options.ttl,
    });
    process.stdout.write(`${token}\n`);
  } catch (error) {
    process.stderr.write(`token: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

await main();
