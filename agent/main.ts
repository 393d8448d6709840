// The agent alone, for shipping to client PCs (`agent/bundle.ts` bundles this file into one
// .mjs): the employee's commands without the vendor/finance tooling and its AWS SDK clients.
import { Command } from 'commander';
import { registerAgentCommands } from './commands.js';
import { newProgram, runProgram } from './program.js';

const program = newProgram(new Command('upman').description('upman update agent'));
registerAgentCommands(program);
await runProgram(program);
