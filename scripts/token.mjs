// `npm run -s token -- --user ando --groups employees[,approvers] [--ttl s] [--data-dir .local]`
// prints a local token and nothing else, for curl and scripts:
//   TOKEN=$(npm run -s token -- --user ando --groups employees)
// A thin wrapper over `upman login --user` (the development issuer's token endpoint over HTTP,
// docs/local-cloud.md "How CLIs get a local token"): it signs in with a throwaway config folder,
// so the login `upman` keeps for you is left alone, prints the token and forgets it. Failures are
// upman login's, with its message and exit code.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const upman = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'upman.mjs');
let args;
try {
  args = parseArgs({
    options: {
      user: { type: 'string' },
      groups: { type: 'string', default: 'employees' },
      ttl: { type: 'string' },
      'data-dir': { type: 'string' },
    },
  }).values;
} catch (error) {
  process.stderr.write(`token: ${error.message}\n`);
  process.exit(2);
}
if (!args.user) {
  process.stderr.write('token: --user <name> is required (e.g. --user ando --groups employees)\n');
  process.exit(2);
}

const config = mkdtempSync(join(tmpdir(), 'upman-token-'));
try {
  const login = [
    'login',
    '--user',
    args.user,
    '--groups',
    args.groups,
    ...(args.ttl ? ['--ttl', args.ttl] : []),
  ];
  const result = spawnSync(process.execPath, [upman, ...login], {
    env: {
      ...process.env,
      XDG_CONFIG_HOME: config,
      ...(args['data-dir'] ? { UPMAN_LOCAL_DIR: resolve(args['data-dir']) } : {}),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (result.status !== 0) process.exitCode = result.status ?? 1;
  else
    process.stdout.write(`${JSON.parse(readFileSync(join(config, 'upman', 'token.json'), 'utf8')).token}\n`);
} finally {
  rmSync(config, { recursive: true, force: true });
}
