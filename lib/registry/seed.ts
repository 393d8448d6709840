// Demo data: the patent's Fig. 4 people and approvers (ando and suzuki → okachi, kaneda → itou,
// yamada → kojima), their clients, a small catalog, installed software with some history.
// Written through the use cases with a fixed clock, so running it twice changes nothing.
import type { Caller } from '../http/identity.js';
import { importPeople } from '../people/directory.js';
import type { PeopleStore } from '../ports/people.js';
import type { RegistryStore } from '../ports/registry.js';
import type { ApproverStore } from '../ports/registry-approvers.js';
import { putClient, reportInventory } from './clients.js';
import { createCursorCodec } from './cursor.js';
import type { ApproverPeriod } from './model.js';
import { putSoftware } from './software.js';

export interface SeedPorts {
  store: RegistryStore;
  approvers: ApproverStore;
  people: PeopleStore;
}

const ADMIN: Caller = { user: 'seed', groups: ['admins'] };
const FIRST = '2024-04-01T09:00:00.000Z';
const LATER = '2025-04-01T09:00:00.000Z';

export const DEMO_CATALOG = [
  {
    name: 'OfficeSuite',
    vendor: 'Contoso',
    latestVersion: '2.10',
    latestRevision: 2100,
    licencePrice: 120,
    licenceModel: 'per-user',
  },
  {
    name: 'CadDesigner',
    vendor: 'Fabrikam',
    latestVersion: '5.2',
    latestRevision: 520,
    licencePrice: 900,
    licenceModel: 'per-client',
  },
  {
    name: 'PdfViewer',
    vendor: 'Northwind',
    latestVersion: '11.0.3',
    latestRevision: 1103,
    licencePrice: 0,
    licenceModel: 'per-client',
  },
  {
    name: 'AntiVirus',
    vendor: 'Tailspin',
    latestVersion: '3.2',
    latestRevision: 32,
    licencePrice: 30,
    licenceModel: 'per-client',
  },
] as const;

export const DEMO_CLIENTS = [
  {
    clientId: 'pc-ando',
    name: 'Ando desktop',
    ipAddress: '10.0.1.11',
    osRegistrationId: 'OS-0001-ANDO',
    department: 'Sales',
    users: ['ando'],
  },
  {
    clientId: 'pc-suzuki',
    name: 'Suzuki laptop',
    ipAddress: '10.0.1.12',
    osRegistrationId: 'OS-0002-SUZUKI',
    department: 'Sales',
    users: ['suzuki'],
  },
  {
    clientId: 'pc-kaneda',
    name: 'Kaneda workstation',
    ipAddress: '10.0.2.21',
    osRegistrationId: 'OS-0003-KANEDA',
    department: 'Engineering',
    users: ['kaneda'],
  },
  {
    clientId: 'pc-yamada',
    name: 'Yamada desktop',
    ipAddress: '10.0.3.31',
    osRegistrationId: 'OS-0004-YAMADA',
    department: 'Accounting',
    users: ['yamada'],
  },
  {
    clientId: 'pc-shared-1',
    name: 'Sales shared PC',
    ipAddress: '10.0.1.50',
    osRegistrationId: 'OS-0005-SHARED',
    department: 'Sales',
    users: ['ando', 'suzuki'],
  },
];

/** The people of Fig. 4 in the directory, as an admin imports them. */
export const DEMO_PEOPLE = [
  { key: 'ando', name: 'Ando Taro', department: 'Sales' },
  { key: 'suzuki', name: 'Suzuki Hanako', department: 'Sales' },
  { key: 'kaneda', name: 'Kaneda Ken', department: 'Engineering' },
  { key: 'yamada', name: 'Yamada Yumi', department: 'Accounting' },
  { key: 'okachi', name: 'Okachi Masao', department: 'Sales' },
  { key: 'itou', name: 'Itou Kenji', department: 'Engineering' },
  { key: 'kojima', name: 'Kojima Aya', department: 'Accounting' },
].map((p) => ({ ...p, login: p.key, email: `${p.key}@upman.example` }));

/** Who approves for whom (Fig. 4), from the seed date on. */
export const DEMO_APPROVERS: Array<[user: string, approver: string]> = [
  ['ando', 'okachi'],
  ['suzuki', 'okachi'],
  ['kaneda', 'itou'],
  ['yamada', 'kojima'],
];

type Item = {
  software: string;
  version: string;
  revision: number;
  installedAt: string;
  updatedAt?: string;
  user: string;
};

/** The inventory as first reported (FIRST) and as reported later (LATER, after some updates). */
function inventory(clientId: string, user: string, later: boolean): Item[] {
  const installedAt = FIRST;
  // pc-suzuki and pc-yamada stay on OfficeSuite 2.9, so "below 2.10" and the forecast find them.
  const behind = clientId === 'pc-suzuki' || clientId === 'pc-yamada';
  const office =
    later && !behind
      ? { version: '2.10', revision: 2100, updatedAt: LATER }
      : { version: '2.9', revision: 2090 };
  const antivirus = later
    ? { version: '3.2', revision: 32, updatedAt: LATER }
    : { version: '3.1', revision: 31 };
  const items: Item[] = [
    { software: 'OfficeSuite', ...office, installedAt, user },
    { software: 'PdfViewer', version: '11.0.3', revision: 1103, installedAt, user },
    { software: 'AntiVirus', ...antivirus, installedAt, user },
  ];
  if (clientId === 'pc-kaneda')
    items.push({ software: 'CadDesigner', version: '5.1', revision: 510, installedAt, user });
  if (clientId === 'pc-shared-1')
    items.push({ software: 'CadDesigner', version: '4.9', revision: 490, installedAt, user });
  return items;
}

export async function seedDemoRegistry(
  ports: SeedPorts,
): Promise<{ people: number; clients: number; software: number; approvers: number }> {
  const now = () => new Date(FIRST);
  const p = {
    store: ports.store,
    people: ports.people,
    cursors: createCursorCodec('seed-only-cursor-key-not-used'),
    now,
  };
  await importPeople(p, ADMIN, DEMO_PEOPLE, false);
  for (const entry of DEMO_CATALOG) {
    const current = await ports.store.getSoftware(entry.name);
    if (!current) await putSoftware(p, ADMIN, entry.name, entry);
  }
  for (const c of DEMO_CLIENTS) {
    const { clientId, ...body } = c;
    if (!(await ports.store.getClient(clientId))) await putClient(p, ADMIN, clientId, body);
    const user = c.users[0]!;
    // Only a client with no software yet gets the demo inventory: once seeded, the data is the
    // user's (a restart must not move pc-suzuki from the 2.10 it was updated to back to 2.9).
    const installed = await ports.store.installationsOfClient(clientId);
    if (installed.length === 0) {
      await reportInventory(p, ADMIN, clientId, { items: inventory(clientId, user, false) });
      // The second report updates some software (history: install, then update).
      await reportInventory({ ...p, now: () => new Date(LATER) }, ADMIN, clientId, {
        items: inventory(clientId, user, true),
      });
    }
  }
  for (const [user, approver] of DEMO_APPROVERS) {
    const period: ApproverPeriod = {
      periodId: `seed-${user}`,
      kind: 'approver',
      user,
      approver,
      validFrom: '2024-01-01T00:00:00.000Z',
      filedAt: FIRST,
      filedBy: 'seed',
    };
    const existing = await ports.approvers.listPeriods('approver', user, { limit: 100 });
    if (!existing.items.some((x) => x.periodId === period.periodId)) await ports.approvers.putPeriod(period);
  }
  return {
    people: DEMO_PEOPLE.length,
    clients: DEMO_CLIENTS.length,
    software: DEMO_CATALOG.length,
    approvers: DEMO_APPROVERS.length,
  };
}

/** For the local cloud: seeds the registry table behind `endpoints`. */
export async function seedRegistryAt(endpoints: {
  dynamodb: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  tables: { registry: string };
}): Promise<string> {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { documentClient } = await import('../adapters/dynamodb/client.js');
  const { DynamoRegistryStore } = await import('../adapters/dynamodb/registry-store.js');
  const { DynamoPeopleStore } = await import('../adapters/dynamodb/people-store.js');
  const raw = new DynamoDBClient({
    endpoint: endpoints.dynamodb,
    region: endpoints.region,
    credentials: endpoints.credentials,
  });
  try {
    const db = documentClient(raw);
    const store = new DynamoRegistryStore(db, endpoints.tables.registry);
    const people = new DynamoPeopleStore(db, endpoints.tables.registry);
    const n = await seedDemoRegistry({ store, approvers: store, people });
    return `${n.people} people, ${n.clients} clients, ${n.software} software, ${n.approvers} approver periods (Fig. 4)`;
  } finally {
    raw.destroy();
  }
}
