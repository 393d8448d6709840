// The agent alone, for shipping to client PCs (`agent/bundle.ts` bundles this file into one
// .mjs): the employee's commands without the vendor/finance tooling and its AWS SDK clients.
import { Command } from 'commander';
import { registerAgentCommands } from './commands.js';

const program = new Command('upman').description('upman update agent').showHelpAfterError();
registerAgentCommands(program);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`upman: ${(error as Error).message}`);
  process.exitCode = 1;
}
