// What a submission (S501) reads, in two BatchGetItem calls rather than one read per item:
// first the request (a resend), the client, the catalog entry and the client's inventory head;
// then, from the client's department and the target version, the budgets with their switch and
// the licence pools. Each item is mapped as its owner's adapter maps it; nothing is written here.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CLIENT_SK, clientPk, REQUEST_SK, requestPk, SOFTWARE_SK, softwarePk } from '../../registry/keys.js';
import type { SubmissionReads } from '../../workflow/ports.js';
import { batchGetItems } from './client.js';
import { type HeadItem, headKey } from './inventory-journal.js';
import { budgetPk, budgetSk, budgetsFromItems, SETTINGS_SK } from './ledger-store.js';
import { licencesPk, poolSk, toPool } from './licence-store.js';
import { catalogEntryFromItem, clientFromItem } from './registry-store.js';
import { toRequest } from './workflow-store.js';

export class DynamoSubmissionReads implements SubmissionReads {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async subjects(requestId: string, clientId: string, software: string) {
    const keys = {
      request: { pk: requestPk(requestId), sk: REQUEST_SK },
      client: { pk: clientPk(clientId), sk: CLIENT_SK },
      software: { pk: softwarePk(software), sk: SOFTWARE_SK },
      head: headKey(clientId),
    };
    const items = await batchGetItems(this.db, this.tableName, Object.values(keys), true);
    const find = (key: { pk: string; sk: string }) => items.find((i) => i.pk === key.pk && i.sk === key.sk);
    const request = find(keys.request);
    const client = find(keys.client);
    const entry = find(keys.software);
    // The head holds the client's installations as the registry knows them (committed sets).
    const head = find(keys.head) as HeadItem | undefined;
    const installed = new Map(Object.values(head?.installed ?? {}).map((i) => [i.software, i.version]));
    return {
      ...(request ? { request: toRequest(request) } : {}),
      ...(client ? { client: clientFromItem(client) } : {}),
      ...(entry ? { software: catalogEntryFromItem(entry) } : {}),
      installed,
    };
  }

  async funds(department: string, periods: string[], software: string, versions: string[]) {
    const items = await batchGetItems(
      this.db,
      this.tableName,
      [
        ...periods.map((p) => ({ pk: budgetPk(department), sk: budgetSk(p) })),
        { pk: budgetPk(department), sk: SETTINGS_SK },
        ...[...new Set(versions)].map((v) => ({ pk: licencesPk(software), sk: poolSk(v) })),
      ],
      true,
    );
    const pools = items.filter((i) => i.pk === licencesPk(software));
    return {
      ...budgetsFromItems(items.filter((i) => i.pk === budgetPk(department))),
      pools: pools.map(toPool),
    };
  }
}
