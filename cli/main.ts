// The `upman` command line: each area registers its commands on one commander program.
// Add a command group with one import and one call below.
import { Command } from 'commander';
import { registerAgentCommands } from '../agent/commands.js';
import { registerFinanceCommands } from './finance/index.js';
import { registerVendorCommands } from './vendor/publish.js';

export function buildProgram(): Command {
  const program = new Command('upman').description('upman: software update management').showHelpAfterError();
  registerVendorCommands(program);
  registerAgentCommands(program);
  registerFinanceCommands(program);
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  console.error(`upman: ${(error as Error).message}`);
  process.exitCode = 1;
}
