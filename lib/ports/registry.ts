// What the registry's use cases need from storage. The DynamoDB adapter implements all of it
// (lib/adapters/dynamodb/registry-store.ts); the use cases never see keys or indexes.
import type { Conflict } from '../errors.js';
import type { PageState } from '../registry/cursor.js';
import type {
  CatalogEntry,
  Client,
  HistoryEntry,
  Installation,
  UpdateRequestRecord,
} from '../registry/model.js';

export interface PageRequest {
  limit: number;
  after?: PageState;
}

export interface Page<T> {
  items: T[];
  /** Where the next page starts; absent on the last page. */
  next?: PageState;
}

export type InstallationSort = 'user' | 'department' | 'version';

export interface InstallationQuery extends PageRequest {
  software: string;
  sort: InstallationSort;
  /** Inclusive bounds, compared as versions. */
  minVersion?: string;
  maxVersion?: string;
}

/** One change of an inventory report; a change with a history entry is recorded in history. */
export type InventoryChange =
  | { kind: 'put'; installation: Installation; previous?: Installation; history?: HistoryEntry }
  | { kind: 'delete'; previous: Installation; history: HistoryEntry };

/** A client's installations as the registry knows them, and how many change sets made them. */
export interface ClientInventory {
  clientId: string;
  /** Change sets applied so far (0: never reported). A write is conditional on it. */
  seq: number;
  installations: Installation[];
  /** Another change set of this client is still being written: a write now answers Conflict. */
  busy: boolean;
}

/** The changes of one client, worked out from `base`: applied all together or not at all. */
export interface ClientChanges {
  clientId: string;
  base: ClientInventory;
  changes: InventoryChange[];
}

export interface ClientMembership {
  clientId: string;
  user: string;
}

export interface RegistryStore {
  getClient(clientId: string): Promise<Client | undefined>;
  /** Several clients by id (BatchGetItem); unknown ids are absent from the map. */
  getClients(clientIds: string[]): Promise<Map<string, Client>>;
  /**
   * Writes the client, adds/removes its user memberships and, if the department changed, re-files
   * its installations under the new department. Conditional on `previous` being current.
   */
  saveClient(client: Client, previous: Client | undefined): Promise<void>;
  /**
   * The department as first spelled: "sales" after "Sales" is "Sales". A name not seen in any
   * case is registered with this spelling (conditionally: of two first writers, one wins).
   */
  departmentSpelling(department: string): Promise<string>;
  /** Every client, page by page: for one-off migrations only (a full read of the table). */
  allClients(): AsyncIterable<Client>;
  clientsOfUser(user: string, page: PageRequest): Promise<Page<ClientMembership>>;

  /** Every installation item of one client (an inventory is bounded, see MAX_INVENTORY_ITEMS). */
  installationsOfClient(clientId: string): Promise<Installation[]>;
  installationsPage(clientId: string, page: PageRequest): Promise<Page<Installation>>;
  /**
   * The inventories of several clients, read consistently, one per id (a client never reported
   * has seq 0). Change sets are worked out from these and applied with applyInventoryBatch.
   */
  inventoriesOf(clientIds: string[]): Promise<Map<string, ClientInventory>>;
  /**
   * Several clients' change sets. Each is applied all together or not at all, and only if its
   * base is still the client's inventory; a client whose base is busy or changed gets its
   * Conflict in the answer (same order as `sets`, undefined = applied); the others are applied.
   */
  applyInventoryBatch(sets: ClientChanges[]): Promise<Array<Conflict | undefined>>;
  historyOfClient(clientId: string, page: PageRequest): Promise<Page<HistoryEntry>>;

  installationsOfSoftware(query: InstallationQuery): Promise<Page<Installation>>;
  /** Who runs `software` below `version` (all of them: the forecast counts them). */
  installationsBelow(
    software: string,
    version: string,
  ): Promise<Array<{ clientId: string; user: string; department?: string }>>;

  getSoftware(name: string): Promise<CatalogEntry | undefined>;
  getSoftwareMany(names: string[]): Promise<Map<string, CatalogEntry>>;
  /**
   * Which of `names` are in the catalog. May answer from a short-lived cache of names known to
   * exist (entries are never deleted); a name not known is always looked up, so a new catalog
   * entry is seen at once and unknown software is never let through.
   */
  knownSoftware(names: string[]): Promise<Set<string>>;
  putSoftware(entry: CatalogEntry): Promise<void>;
  listSoftware(page: PageRequest): Promise<Page<CatalogEntry>>;

  /** Requests for `software` at `targetVersion` that still wait for budget, approval or download. */
  requestsInFlight(software: string, targetVersion: string): Promise<UpdateRequestRecord[]>;
}
