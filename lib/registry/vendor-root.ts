// The vendor root the organisation pins (docs/agent.md "Signed release metadata"): an admin
// pins the vendor's TUF root.json once; every agent gets it from the API, signed in, when it
// registers, so every PC checks the vendor's signed release metadata by default. With a root
// pinned here an agent that has none refuses to install anything unverified.
import { createHash } from 'node:crypto';
import { Metadata, MetadataKind, type Root } from '@tufjs/models';
import { BadRequest, Forbidden, NotFound } from '../errors.js';
import { type Caller, hasRole, ROLES } from '../http/identity.js';
import { requireObject } from './validate.js';

export interface PinnedVendorRoot {
  /** The vendor's root.json, exactly as pinned. */
  root: Record<string, unknown>;
  version: number;
  /** SHA-256 of the stored document: agents compare it with what they pinned. */
  sha256: string;
  pinnedAt: string;
  pinnedBy: string;
}

export interface VendorRootStore {
  getVendorRoot(): Promise<PinnedVendorRoot | undefined>;
  putVendorRoot(pinned: PinnedVendorRoot): Promise<void>;
}

export interface VendorRootPorts {
  vendorRoot: VendorRootStore;
  now?: () => Date;
}

export const vendorRootSha256 = (root: unknown) =>
  createHash('sha256').update(JSON.stringify(root)).digest('hex');

/** PUT /vendor-root (admins): a TUF root that verifies itself and has not expired. */
export async function pinVendorRoot(
  ports: VendorRootPorts,
  caller: Caller,
  body: unknown,
): Promise<PinnedVendorRoot> {
  if (!hasRole(caller, 'admins')) throw new Forbidden('Only an admin may pin the vendor root');
  const document = requireObject(body);
  let root: Metadata<Root>;
  try {
    root = Metadata.fromJSON(MetadataKind.Root, document as never);
  } catch (error) {
    throw new BadRequest(`the body is not a TUF root.json: ${(error as Error).message}`, 'signed');
  }
  try {
    // Signed by a threshold of its own root keys, as a client checks a root it is given.
    root.verifyDelegate(MetadataKind.Root, root);
  } catch (error) {
    throw new BadRequest(
      `root.json is not signed by its own root keys: ${(error as Error).message}`,
      'signatures',
    );
  }
  const now = (ports.now ?? (() => new Date()))();
  if (root.signed.isExpired(now)) {
    throw new BadRequest(`root.json expired on ${root.signed.expires}`, 'signed.expires');
  }
  const pinned: PinnedVendorRoot = {
    root: document,
    version: root.signed.version,
    sha256: vendorRootSha256(document),
    pinnedAt: now.toISOString(),
    pinnedBy: caller.user,
  };
  await ports.vendorRoot.putVendorRoot(pinned);
  return pinned;
}

/** GET /vendor-root: anyone signed in with a role (the agents, with their employee's token). */
export async function readVendorRoot(ports: VendorRootPorts, caller: Caller): Promise<PinnedVendorRoot> {
  if (!ROLES.some((role) => hasRole(caller, role))) {
    throw new Forbidden('Reading the vendor root needs a role (employees, admins, …)');
  }
  const pinned = await ports.vendorRoot.getVendorRoot();
  if (!pinned) throw new NotFound('The organisation has not pinned a vendor root (PUT /vendor-root)');
  return pinned;
}
