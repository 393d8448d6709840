// The `upman` command line: each area registers its commands on one commander program.
// Add a command group with one import and one call below. Built into dist/cli by esbuild
// (scripts/build-cli.mjs); bin/upman.mjs runs that bundle.
import { Command } from 'commander';
import { registerAgentCommands } from '../agent/commands.js';
import { newProgram, runProgram } from '../agent/program.js';
import { registerFinanceCommands } from './finance/index.js';
import { registerVendorCommands } from './vendor/index.js';

export function buildProgram(): Command {
  const program = newProgram(new Command('upman').description('upman: software update management'));
  // The bundle carries the package version; from source (tests, tsx) it is read from package.json.
  program.version(process.env.UPMAN_CLI_VERSION ?? '0.0.0-source', '-V, --version', 'print the version');
  registerVendorCommands(program);
  registerAgentCommands(program);
  registerFinanceCommands(program);
  return program;
}

await runProgram(buildProgram());
