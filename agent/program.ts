// Runs a commander program with the CLI's exit statuses: a usage error (unknown command or
// option, missing argument) exits 2, help and --version exit 0, a command's own error exits by
// its kind (errors.ts). Commander prints its usage messages itself.
import { type Command, CommanderError } from 'commander';
import { EXIT } from './errors.js';
import { reportError } from './output.js';

/** The program's root command, set up so usage errors reach runProgram instead of exiting. */
export function newProgram(program: Command): Command {
  return program.exitOverride().showHelpAfterError('(add --help for the commands and options)');
}

export async function runProgram(program: Command, argv = process.argv): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      const quiet = ['commander.helpDisplayed', 'commander.version', 'commander.help'];
      process.exitCode = quiet.includes(error.code) ? EXIT.ok : EXIT.usage;
      return;
    }
    reportError(error, argv.includes('--json'));
  }
}
