// The employee's commands (issue 6): login, agent register/inventory, request, status, download.
// Each takes --api/--root/--client/--json (also before the command name: `upman --json status`).
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { closestNames } from '../lib/suggest.js';
import { ApiClient, ApiError, type IssuedKey } from './api.js';
import {
  currentToken,
  loginDeviceFlow,
  loginLocal,
  removeToken,
  type StoredToken,
  saveToken,
} from './auth.js';
import { apiUrl, clientId, type GlobalOptions, installRoot } from './config.js';
import { downloadArtifact } from './download.js';
import { AgentError } from './errors.js';
import { hostName, osRegistrationId, primaryAddress } from './host.js';
import { type ApplyPoint, applyPackage, recoverInstalls } from './install.js';
import { assertSoftwareName, downloadsDir, ensureDir, readInstalled, scanRoot } from './install-root.js';
import { makeOut, type Out, reportError } from './output.js';
import { clearPending, readPending, writePending } from './pending.js';
import { byteBar, humanBytes } from './progress.js';
import { describeStep } from './steps.js';

type Action<O> = (out: Out, options: O & GlobalOptions, cmd: Command) => Promise<void>;

function withGlobals(cmd: Command): Command {
  return cmd
    .option('--api <url>', 'the upman API (env UPMAN_API; default: the local cloud)')
    .option('--root <dir>', 'the install root (env UPMAN_ROOT)')
    .option('--client <id>', 'this client id (env UPMAN_CLIENT; default: the host name)')
    .option('--json', 'machine-readable output');
}

/**
 * Runs an action with the options of the command and its parents merged (the nearest wins); any
 * error becomes a clear message and an exit status by kind (errors.ts).
 */
export function run<O>(action: Action<O>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const chain: Command[] = [];
    for (let c: Command | null = cmd; c; c = c.parent) chain.unshift(c);
    const options = Object.assign({}, ...chain.map((c) => definedOnly(c.opts()))) as O & GlobalOptions;
    const out = makeOut(Boolean(options.json));
    try {
      await action(out, options, cmd);
    } catch (error) {
      reportError(error, out.json);
    }
  };
}

function definedOnly(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function positiveInt(value: string): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError('must be a whole number above 0');
  return Number(value);
}

/**
 * What an employee can do about a refused `agent register`: 403 (the id belongs to other users,
 * or the change is an admin's) or 409 (another agent registered or changed it at the same time).
 */
function registerRefusal(error: unknown, id: string, user: string, creating = false): unknown {
  if (!(error instanceof ApiError) || (error.status !== 403 && error.status !== 409)) return error;
  const detail = { status: error.status, ...(error.field ? { field: error.field } : {}) };
  const ownId = "pass --client <id> (or set UPMAN_CLIENT) with this PC's own id";
  let advice: string;
  if (error.status === 409) {
    advice =
      `client ${id} was registered or changed by another agent at the same moment. Run "upman agent register" ` +
      `again: if that agent was yours, this updates the client; if the id is someone else's now, ${ownId}.`;
  } else if (error.field === 'users') {
    advice = `you (${user}) register a PC for yourself only; adding or removing its users is done by an admin: ask IT.`;
  } else if (error.field === 'department') {
    advice = `client ${id} is shared, so its department is changed by an admin: ask IT, or leave out --department.`;
  } else if (error.field === undefined && creating) {
    advice =
      'registering a PC needs an employee\'s login (group "employees") or an admin\'s: log in as yourself.';
  } else if (error.field === 'clientId' || error.field === undefined) {
    advice =
      `client ${id} is registered to other users, not to you (${user}). ` +
      `If this is your PC, ask IT to add you to it; otherwise ${ownId}.`;
  } else {
    return error;
  }
  const said = `${error.said}${error.field ? ` [field: ${error.field}]` : ''}`;
  return new AgentError(error.code, `${said}. Cannot register: ${advice}`, detail);
}

async function session(options: GlobalOptions): Promise<{ api: ApiClient; token: StoredToken }> {
  const api = apiUrl(options);
  const token = await currentToken();
  return { api: new ApiClient({ api, token: token.token }), token };
}

export function registerAgentCommands(program: Command): void {
  // Options given before a command name belong to the program; after it, to the command. So
  // `upman --json status` and `upman status --json` both work, and other command groups keep
  // their own options of the same name (e.g. `vendor publish --api`).
  program.enablePositionalOptions();
  withGlobals(program);

  withGlobals(
    program
      .command('login')
      .description('sign in: locally with --user (development issuer); against AWS with the OIDC device flow')
      .option('--user <name>', 'local cloud: the user to sign in as')
      .option('--groups <g1,g2>', 'local cloud: the groups of the token', list, ['employees'])
      .option('--ttl <seconds>', 'local cloud: token lifetime in seconds', positiveInt)
      .option('--issuer <url>', 'OIDC issuer for the device flow (env UPMAN_OIDC_ISSUER)')
      .option('--oidc-client-id <id>', 'OAuth client id for the device flow (env UPMAN_OIDC_CLIENT_ID)')
      .option('--scope <scopes>', 'device flow: scopes to ask for', 'openid profile email'),
  ).action(
    run<{
      user?: string;
      groups: string[];
      ttl?: number;
      issuer?: string;
      oidcClientId?: string;
      scope: string;
    }>(async (out, o) => {
      let stored: StoredToken;
      let didYouMean: string[] = [];
      if (o.user) {
        const { didYouMean: hint = [], ...local } = await loginLocal({
          user: o.user,
          groups: o.groups,
          ...(o.ttl ? { ttlSeconds: o.ttl } : {}),
        });
        stored = local;
        didYouMean = hint;
      } else {
        const issuer = o.issuer ?? process.env.UPMAN_OIDC_ISSUER;
        const oidcClientId = o.oidcClientId ?? process.env.UPMAN_OIDC_CLIENT_ID;
        if (!issuer || !oidcClientId) {
          throw new AgentError(
            'usage',
            'Say how to sign in: "upman login --user <name>" with the local cloud, or ' +
              '"upman login --issuer <url> --oidc-client-id <id>" (or UPMAN_OIDC_ISSUER/UPMAN_OIDC_CLIENT_ID) for the device flow',
          );
        }
        stored = await loginDeviceFlow({
          issuer,
          clientId: oidcClientId,
          scope: o.scope,
          prompt: (p) =>
            process.stderr.write(
              `To sign in, open ${p.verificationUriComplete ?? p.verificationUri} and enter the code ${p.userCode} ` +
                `(valid ${Math.round(p.expiresIn / 60)} min).\n`,
            ),
        });
      }
      const tokenFile = await saveToken(stored);
      out.result(
        {
          user: stored.user,
          groups: stored.groups,
          expiresAt: stored.expiresAt,
          tokenFile,
          ...(didYouMean.length > 0 ? { didYouMean } : {}),
        },
        [
          `Logged in as ${stored.user} (${stored.groups.join(', ') || 'no groups'}) until ${stored.expiresAt}.`,
          ...(didYouMean.length > 0
            ? [
                `${stored.user} is none of the demo people, so this is a new person. Did you mean ${didYouMean.join(' or ')}? (log in again with --user ${didYouMean[0]})`,
              ]
            : []),
        ],
      );
    }),
  );

  withGlobals(program.command('logout').description('forget the stored token')).action(
    run(async (out) => {
      const removed = await removeToken();
      out.result({ loggedOut: removed }, [removed ? 'Logged out.' : 'Was not logged in.']);
    }),
  );

  const agent = program.command('agent').description('this client PC: registration and inventory');

  withGlobals(
    agent
      .command('register')
      .description('register this client: name, IP address, OS registration id, department, users')
      .option('--department <d>', 'the department the PC belongs to (required the first time)')
      .option('--name <name>', 'client name (default: the host name)')
      .option('--ip <address>', 'IP address (default: the first non-loopback address)')
      .option(
        '--os-registration-id <id>',
        'OS registration id (default: machine id / MachineGuid / platform UUID)',
      )
      .option(
        '--users <u1,u2>',
        'users of the PC (default: you, or the registered users; only an admin lists others)',
        list,
      ),
  ).action(
    run<{ department?: string; name?: string; ip?: string; osRegistrationId?: string; users?: string[] }>(
      async (out, o) => {
        const id = clientId(o);
        const { api, token } = await session(o);
        const existing = await api.getClient(id).catch((error: unknown) => {
          throw registerRefusal(error, id, token.user);
        });
        const department = o.department ?? existing?.department;
        if (!department) {
          throw new AgentError('usage', `--department is required to register a new client (${id})`);
        }
        const osId = o.osRegistrationId ?? (await osRegistrationId());
        if (!osId)
          throw new AgentError('usage', 'Cannot read the OS registration id here: pass --os-registration-id');
        const body = {
          name: o.name ?? existing?.name ?? hostName(),
          ipAddress: o.ip ?? primaryAddress(),
          osRegistrationId: osId,
          department,
          users: o.users ?? existing?.users ?? [token.user],
        };
        try {
          await api.putClient(id, body);
        } catch (error) {
          throw registerRefusal(error, id, token.user, existing === undefined);
        }
        // Enrolment also hands out the vendor root the organisation pinned: from now on every
        // download is checked against the vendor's signed metadata.
        const vendorRoot = await (await tuf()).pinOrganisationRoot(
          o.root || process.env.UPMAN_ROOT ? installRoot(o) : undefined,
          api,
        );
        out.result({ clientId: id, ...body, created: existing === undefined, vendorRoot }, [
          `${existing ? 'Updated' : 'Registered'} client ${id}: ${body.name}, ${body.ipAddress}, ${department}, users ${body.users.join(', ')}`,
          vendorRoot.status === 'none'
            ? 'The organisation has pinned no vendor root: downloads are not checked against signed release metadata.'
            : vendorRoot.status === 'pinned'
              ? `Pinned the organisation's vendor root (version ${vendorRoot.version}): downloads are checked against the vendor's signed metadata.`
              : vendorRoot.status === 'unchanged'
                ? `The vendor root (version ${vendorRoot.version}) is pinned already.`
                : `The organisation pinned a vendor root (version ${vendorRoot.version}), but no install root is set: run this again with --root (or UPMAN_ROOT) to pin it; downloads are refused until then.`,
        ]);
      },
    ),
  );

  withGlobals(
    agent
      .command('trust-vendor')
      .description(
        "pin the vendor's TUF root.json (enrolment): downloads are then checked against its signed metadata",
      )
      .argument('<root.json>', 'the root the organisation received from the vendor'),
  ).action(
    run(async (out, o, cmd) => {
      const root = installRoot(o);
      const { pinVendorRoot } = await tuf();
      const pinned = await pinVendorRoot(root, cmd.args[0]!);
      out.result({ root, ...pinned }, [
        `Pinned the vendor root (version ${pinned.version}, ${pinned.keys} keys).`,
      ]);
    }),
  );

  withGlobals(
    agent
      .command('inventory')
      .description("report this client's installed software (the install root's manifests) to the registry")
      .option('--dry-run', 'show what would be reported, send nothing')
      .option(
        '--every <minutes>',
        'keep running and report every N minutes (or use cron / a systemd timer)',
        positiveInt,
      ),
  ).action(
    run<{ dryRun?: boolean; every?: number }>(async (out, o) => {
      const id = clientId(o);
      const root = installRoot(o);
      const once = async () => {
        const missing = !(await exists(root));
        if (missing && !o.dryRun) {
          // Nothing installed here yet (a new PC: "upman download" creates the root). Reporting
          // that is only safe if the registry lists nothing either: a mistyped --root must not
          // wipe a PC's inventory.
          const listed = (await (await session(o)).api.getInventory(id)).items;
          if (listed.length > 0) {
            throw new AgentError(
              'not-found',
              `The install root ${root} does not exist, yet the registry lists ${listed.length} software on ${id}: ` +
                'pass the --root its software is installed under (or set UPMAN_ROOT)',
            );
          }
          await ensureDir(root);
          out.note(`created the install root ${root}: nothing is installed there yet`);
        }
        if (!missing || !o.dryRun) {
          for (const r of await recoverInstalls(root))
            out.note(`recovered an interrupted install of ${r.software}: ${r.outcome}`);
        }
        const scan = missing && o.dryRun ? { installed: [], skipped: [] } : await scanRoot(root);
        for (const s of scan.skipped) out.note(`skipped ${s.folder}: ${s.reason}`);
        const items = scan.installed.map((m) => ({
          software: m.software,
          version: m.version,
          revision: m.revision,
          installedAt: m.installedAt,
          ...(m.updatedAt ? { updatedAt: m.updatedAt } : {}),
          user: m.user,
        }));
        const server = o.dryRun ? undefined : await (await session(o)).api.putInventory(id, items);
        out.result(
          {
            clientId: id,
            root,
            items,
            skipped: scan.skipped,
            ...(server ? { result: server } : { dryRun: true }),
          },
          [
            `${o.dryRun ? 'Would report' : 'Reported'} ${items.length} software for ${id}:`,
            ...items.map((i) => `  ${i.software} ${i.version} (revision ${i.revision}), ${i.user}`),
            ...(server ? [`registry: ${summary(server)}`] : []),
          ],
        );
      };
      if (!o.every) return once();
      for (;;) {
        try {
          await once();
        } catch (error) {
          reportError(error, out.json);
          process.exitCode = 0; // one failed round does not end the schedule
        }
        await new Promise((r) => setTimeout(r, o.every! * 60_000));
      }
    }),
  );

  withGlobals(
    program
      .command('request')
      .description('request an update of <software> on this client')
      .argument('<software>', 'the software, as named in the catalog')
      .option('--version <v>', 'the version wanted (default: the latest)')
      .option('--reason <text>', 'why you need it (shown to finance and your approver)')
      .option('--idempotency-key <key>', 'reuse to retry safely without filing twice (default: a new one)'),
  ).action(
    run<{ version?: string; reason?: string; idempotencyKey?: string }>(async (out, o, cmd) => {
      const software = cmd.args[0]!;
      assertSoftwareName(software);
      const id = clientId(o);
      const { api } = await session(o);
      const answer = await api
        .submitRequest(
          {
            clientId: id,
            software,
            ...(o.version ? { targetVersion: o.version } : {}),
            reason: o.reason ?? `Update of ${software} requested from ${id}`,
          },
          ...(o.idempotencyKey ? [o.idempotencyKey] : []),
        )
        .catch(async (error: unknown) => {
          if (!(error instanceof ApiError) || error.status !== 404 || error.field !== 'software') throw error;
          const names = await api.catalogNames().catch(() => []);
          const near = closestNames(software, names);
          throw new AgentError(
            'not-found',
            `${software} is not in the catalog. ` +
              (near.length > 0
                ? `Did you mean ${near.join(' or ')}? (upman request ${near[0]})`
                : 'Ask IT to add it, or check the name with your colleagues.'),
            { status: 404, field: 'software', ...(near.length > 0 ? { suggestions: near } : {}) },
          );
        });
      out.result({ requestId: answer.requestId, ...(answer.status ? { status: answer.status } : {}) }, [
        `Filed request ${answer.requestId} for ${software}${o.version ? ` ${o.version}` : ''} on ${id}.`,
        `Follow it with: upman status ${answer.requestId}`,
      ]);
    }),
  );

  withGlobals(
    program
      .command('status')
      .description("a request's step timeline; without an id, your requests")
      .argument('[requestId]', 'the request id that "upman request" printed'),
  ).action(
    run(async (out, o, cmd) => {
      const requestId = cmd.args[0];
      const { api } = await session(o);
      if (!requestId) {
        const page = await api.listRequests();
        out.result(page, [
          ...(page.items.length === 0 ? ['You have no requests.'] : []),
          ...page.items.map(
            (r) => `${r.requestId}  ${r.status.padEnd(17)} ${r.software} ${r.targetVersion}  ${r.createdAt}`,
          ),
        ]);
        return;
      }
      const view = await api.getRequest(requestId);
      out.result(view, [
        `${view.requestId}: ${view.software} ${view.targetVersion} on ${view.clientId} — ${view.status}${view.statusReason ? ` (${view.statusReason})` : ''}`,
        ...view.steps.map((s) => `  ${s.at}  ${s.step}${s.phase ? `.${s.phase}` : ''}  ${describeStep(s)}`),
        ...(view.status === 'APPROVED'
          ? [`Approved: install it when it suits you with "upman download ${view.requestId}".`]
          : []),
      ]);
    }),
  );

  withGlobals(
    program
      .command('download')
      .description('get a fresh key for an approved request, download (resumable), verify, install, confirm')
      .argument('<requestId>', 'the approved request')
      .option('--no-progress', 'no progress bar'),
  ).action(
    run<{ progress: boolean }>(async (out, o, cmd) => {
      await download(out, o, cmd.args[0]!);
    }),
  );
}

/** The TUF client (tuf-js) loads only for the commands that check release metadata. */
const tuf = () => import('./tuf.js');

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

function summary(result: Record<string, unknown>): string {
  return ['installed', 'updated', 'removed', 'unchanged']
    .filter((k) => typeof result[k] === 'number')
    .map((k) => `${result[k]} ${k}`)
    .join(', ');
}

const DOWNLOADABLE = new Set(['APPROVED', 'DOWNLOADED']);

async function download(
  out: Out,
  o: GlobalOptions & { progress: boolean },
  requestId: string,
): Promise<void> {
  const id = clientId(o);
  const root = installRoot(o);
  const { api, token } = await session(o);
  const kill = killSwitch();
  for (const r of await recoverInstalls(root))
    out.note(`recovered an interrupted install of ${r.software}: ${r.outcome}`);

  const view = await api.getRequest(requestId);
  if (view.clientId !== id) {
    throw new AgentError(
      'usage',
      `Request ${requestId} is for client ${view.clientId}, and this is ${id}: run it there, or pass --client ${view.clientId}`,
    );
  }
  if (!DOWNLOADABLE.has(view.status)) {
    throw new AgentError(
      'not-approved',
      view.status === 'REJECTED' || view.status === 'REVOKED'
        ? `Request ${requestId} was ${view.status.toLowerCase()}${view.statusReason ? ` (${view.statusReason})` : ''}: there is nothing to download`
        : `Request ${requestId} is ${view.status}: it can be downloaded once approved (see "upman status ${requestId}")`,
      { status: view.status },
    );
  }
  const software = view.software;
  assertSoftwareName(software);
  const installed = await readInstalled(root, software);
  const current = typeof installed?.revision === 'number' ? installed.revision : null;

  // An earlier run installed it but could not confirm: confirm now, download nothing.
  const pending = await readPending(root, requestId);
  if (pending && current === pending.toRevision) {
    await confirm(api, root, requestId, pending.grantId, pending.sha256);
    const result = {
      software,
      fromRevision: pending.fromRevision,
      toRevision: pending.toRevision,
      kind: pending.kind,
    };
    out.result({ ...result, confirmed: true, added: [], changed: [], deleted: [] }, [
      `${software} was already installed at revision ${pending.toRevision}; the download is now confirmed.`,
    ]);
    return;
  }

  const trust = await tuf();
  // Refuses here, before any key, when the organisation pinned a root this PC lacks.
  await trust.requirePinnedRootIfOrganisationHasOne(root, api);
  const trustedRootVersion = await trust.trustedRootVersion(root);
  const key = await api.requestKey(requestId, {
    clientId: id,
    currentRevision: current,
    ...(trustedRootVersion ? { trustedRootVersion } : {}),
  });
  checkKey(key);
  if (current === key.toRevision) {
    out.result(
      {
        software,
        fromRevision: current,
        toRevision: key.toRevision,
        kind: 'none',
        added: [],
        changed: [],
        deleted: [],
      },
      [`${software} is already at revision ${current}: nothing to do.`],
    );
    return;
  }
  out.note(
    `${software}: ${key.kind} package ${current === null ? '' : `from revision ${current} `}to revision ${key.toRevision}, ${humanBytes(key.size)}`,
  );
  // Before any byte of the artifact: the vendor's signed metadata must name it (S606 otherwise).
  const metadata = await trust.checkKeyAgainstMetadata(root, key);
  out.note(
    metadata === 'verified'
      ? `signed release metadata checked: ${key.artifactKey} is the vendor's`
      : 'release metadata not checked: neither this PC nor the organisation has pinned a vendor root',
  );

  const bar = o.progress && !out.json ? byteBar(software) : undefined;
  let downloaded: Awaited<ReturnType<typeof downloadArtifact>>;
  try {
    downloaded = await downloadArtifact({
      url: key.url,
      size: key.size,
      sha256: key.sha256,
      dir: downloadsDir(root),
      requestId,
      expiresAt: key.expiresAt,
      // Keys live at most 15 minutes: a long download asks for fresh ones as it goes (refused
      // once the grant is revoked). A fresh key must name the same artifact.
      renew: async () => {
        const fresh = await api.requestKey(requestId, { clientId: id, currentRevision: current });
        if (fresh.sha256 !== key.sha256 || fresh.size !== key.size) {
          throw new AgentError(
            'download-failed',
            `The fresh key is for another package (${fresh.kind}, ${fresh.size} bytes) than the one being downloaded; run "upman download ${requestId}" again`,
          );
        }
        out.note(`renewed the download key (valid until ${fresh.expiresAt})`);
        return fresh;
      },
      onStart: (offset, total) => {
        if (offset > 0)
          out.note(`resuming at ${humanBytes(offset)} of ${humanBytes(total)} (${offset} of ${total} bytes)`);
        bar?.start(total, offset);
      },
      onProgress: (received) => {
        bar?.update(received);
        kill.download(received);
      },
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new AgentError(
        'root-unwritable',
        `The install root ${root} is not writable (${code}): nothing was changed. Fix the permissions and run the command again.`,
      );
    }
    throw error;
  } finally {
    bar?.stop();
  }
  out.note(`verified SHA-256 ${key.sha256}`);

  const now = new Date().toISOString();
  const changes = await applyPackage({
    root,
    software,
    archive: downloaded.file,
    kind: key.kind,
    fromRevision: key.fromRevision,
    manifest: {
      software,
      version: key.version ?? view.targetVersion,
      revision: key.toRevision,
      installedAt: installed?.installedAt ?? now,
      ...(installed ? { updatedAt: now } : {}),
      user: token.user,
      grantId: key.grantId,
    },
    hooks: { at: kill.apply },
  });
  await rm(downloaded.file, { force: true });

  const result = { software, fromRevision: current, toRevision: key.toRevision, kind: key.kind };
  await writePending(root, requestId, { ...result, grantId: key.grantId, sha256: key.sha256 });
  try {
    await confirm(api, root, requestId, key.grantId, key.sha256);
  } catch (error) {
    throw new AgentError(
      'confirmation-failed',
      `${software} is installed at revision ${key.toRevision}, but the confirmation to the server failed ` +
        `(${(error as Error).message}); run "upman download ${requestId}" again to send it.`,
      { ...result },
    );
  }
  const version = key.version ?? view.targetVersion;
  out.result({ ...result, version, grantId: key.grantId, confirmed: true, ...changes }, [
    `Installed ${software} ${version} (revision ${key.toRevision}) into ${join(root, software)}` +
      ` from ${current === null ? 'nothing' : `revision ${current}`} with the ${key.kind} package:`,
    `  ${changes.added.length} added, ${changes.changed.length} changed, ${changes.deleted.length} deleted`,
    ...changes.added.map((p) => `  + ${p}`),
    ...changes.changed.map((p) => `  ~ ${p}`),
    ...changes.deleted.map((p) => `  - ${p}`),
  ]);
}

async function confirm(
  api: ApiClient,
  root: string,
  requestId: string,
  grantId: string,
  sha256: string,
): Promise<void> {
  await api.confirm(grantId, sha256);
  await clearPending(root, requestId);
}

function checkKey(key: IssuedKey): void {
  const ok =
    key &&
    typeof key.url === 'string' &&
    (key.kind === 'full' || key.kind === 'delta') &&
    Number.isSafeInteger(key.size) &&
    Number.isSafeInteger(key.toRevision) &&
    typeof key.grantId === 'string';
  if (!ok)
    throw new AgentError('api-error', `The key the API returned is incomplete: ${JSON.stringify(key)}`);
}

/**
 * Fault injection for the fault tests (docs/agent.md): UPMAN_TEST_KILL_AT=<point> SIGKILLs this
 * process at an install point (staged, journaled, backed-up, swapped) or after N downloaded
 * bytes (download:<N>), so tests exercise a real kill and the next run's recovery.
 */
function killSwitch() {
  const at = process.env.UPMAN_TEST_KILL_AT ?? '';
  const bytes = /^download:(\d+)$/.exec(at)?.[1];
  const die = () => process.kill(process.pid, 'SIGKILL');
  return {
    download: (received: number) => {
      if (bytes !== undefined && received >= Number(bytes)) die();
    },
    apply: (point: ApplyPoint) => {
      if (point === at) die();
    },
  };
}
