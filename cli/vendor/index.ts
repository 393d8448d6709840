// `upman vendor …`: the vendor's download site. The S3 client and the publish use case load only
// when a vendor command runs (a separate chunk of the CLI bundle), so other commands start fast.
import { Command } from 'commander';
import { run } from '../../agent/commands.js';
import { newProgram } from '../../agent/program.js';
import { byteBar, humanBytes } from '../../agent/progress.js';
import type { PublishOptions } from './publish.js';

export function registerVendorCommands(program: Command): void {
  const vendor = program.command('vendor').description("the vendor's download site");
  vendor
    .command('publish')
    .description('publish a release: full package, binary deltas from recent revisions, manifest, catalog')
    .argument('<package>', 'the release: a directory, a .tar.gz (.tgz) or a .zip')
    .requiredOption('--software <name>', 'software name, as in the catalog')
    .requiredOption('--version <version>', 'version, e.g. 2.1.0 (published once)')
    .requiredOption('--revision <n>', 'revision (build) number, above every published one')
    .option('--bucket <name>', 'release bucket (default: UPMAN_RELEASE_BUCKET or the local cloud)')
    .option('--api <url>', 'upman API for the catalog (default: UPMAN_API or the local cloud)')
    .option('--token <jwt>', 'admin token for the catalog (default: UPMAN_TOKEN, then "upman login")')
    .option(
      '--endpoints <file>',
      'local cloud endpoints file (default: the local cloud, see UPMAN_LOCAL_DIR)',
    )
    .option(
      '--deltas <n>',
      // The default is lib/vendor/publish.ts's DEFAULT_DELTA_REVISIONS (not imported: it would load the use case on every call).
      'binary deltas from the latest n earlier revisions (default 3; 0: full package only)',
    )
    .option('--tuf-keys <dir>', "sign the artifacts into the site's TUF metadata (env UPMAN_TUF_KEYS)")
    .option('--no-catalog', 'do not update the catalog (the release is still published)')
    .option('--json', 'machine-readable output')
    .action(
      run<PublishOptions>(async (out, options, cmd) => {
        const { runPublish } = await import('./publish.js');
        // One bar per artifact while it uploads (on a terminal, not with --json).
        let bar: ReturnType<typeof byteBar>;
        let uploading: string | undefined;
        const endBar = () => {
          bar?.stop();
          bar = undefined;
          uploading = undefined;
        };
        const result = await runPublish(cmd.args[0]!, {
          ...options,
          quiet: out.json,
          onProgress: (m) => {
            endBar();
            out.note(m);
          },
          onUpload: (artifact, sent) => {
            if (out.json) return;
            if (uploading !== artifact.key) {
              endBar();
              uploading = artifact.key;
              bar = byteBar(artifact.key.split('/').slice(-2).join('/'));
              bar?.start(artifact.size);
            }
            bar?.update(sent);
          },
        }).finally(endBar);
        out.result(
          result,
          result.artifacts.map(
            (a) => `${a.kind.padEnd(5)} ${humanBytes(a.size).padStart(10)}  ${a.sha256}  ${a.key}`,
          ),
        );
      }),
    );
  // `vendor tuf …` is declared in ./tuf.js with KMS and the TUF libraries: a stand-in takes the
  // command line and hands it to those commands, loaded only now, so every other call stays fast.
  vendor
    .command('tuf')
    .description(
      "the site's signed release metadata (TUF): init, refresh, rotate-root (see: vendor tuf --help)",
    )
    .argument('[args...]')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_args: string[], _options: unknown, cmd: Command) => {
      const { registerTufCommands } = await import('./tuf.js');
      const inner = newProgram(new Command('upman vendor'));
      registerTufCommands(inner);
      await inner.parseAsync(['tuf', ...cmd.args], { from: 'user' });
    });
}
