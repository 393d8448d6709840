// Owned licences on the registry table (docs/workflow.md "Licences owned"):
//   pool  pk LICENCES#<software>  sk POOL#<version|*>  owned, taken
//   hold  pk REQ#<requestId>      sk LICENCE           software, version, state taken → released | kept
// Taking a licence is part of the request's creating transaction (takeItems): the pool's
// condition `taken < owned` is evaluated by DynamoDB on the item, so two requests never take
// the same spare licence. Giving it back is one transaction conditional on the hold's state.
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { requestPk } from '../../registry/keys.js';
import type { LicenceHold, LicencePool, LicenceStore } from '../../workflow/licences.js';
import type { TransactItem } from './client.js';
import { failedConditions, transactWithRetry } from './ledger-store.js';

export const licencesPk = (software: string) => `LICENCES#${software}`;
export const poolSk = (version: string) => `POOL#${version}`;
export const HOLD_SK = 'LICENCE';

export const toPool = (i: Record<string, unknown>): LicencePool => ({
  software: String(i.software),
  version: String(i.version),
  owned: Number(i.owned ?? 0),
  taken: Number(i.taken ?? 0),
});

export class DynamoLicenceStore implements LicenceStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The items that take one licence of the pool for a request (inside its creating transaction). */
  takeItems(hold: LicenceHold, at: string): TransactItem[] {
    return [
      {
        Update: {
          TableName: this.tableName,
          Key: { pk: licencesPk(hold.software), sk: poolSk(hold.version) },
          UpdateExpression: 'SET taken = taken + :one',
          ConditionExpression: 'taken < owned',
          ExpressionAttributeValues: { ':one': 1 },
        },
      },
      {
        Put: {
          TableName: this.tableName,
          Item: { pk: requestPk(hold.requestId), sk: HOLD_SK, ...hold, state: 'taken', takenAt: at },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
  }

  async pools(software: string): Promise<LicencePool[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :pool)',
        ExpressionAttributeValues: { ':pk': licencesPk(software), ':pool': 'POOL#' },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map(toPool);
  }

  async setOwned(
    software: string,
    version: string,
    owned: number,
    by: string,
    at: string,
  ): Promise<LicencePool> {
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: licencesPk(software), sk: poolSk(version) },
        UpdateExpression:
          'SET software = :s, version = :v, owned = :o, taken = if_not_exists(taken, :z), updatedAt = :at, updatedBy = :by',
        ExpressionAttributeValues: {
          ':s': software,
          ':v': version,
          ':o': owned,
          ':z': 0,
          ':at': at,
          ':by': by,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toPool(out.Attributes ?? {});
  }

  /** The request's licence hold, if it took one (any state). */
  async holdOf(requestId: string): Promise<(LicenceHold & { state: string }) | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: requestPk(requestId), sk: HOLD_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item as (LicenceHold & { state: string }) | undefined;
  }

  /** The items that give a taken licence back (the hold's state is the condition, item 0). */
  releaseItems(hold: LicenceHold, at: string): TransactItem[] {
    return [
      {
        Update: {
          TableName: this.tableName,
          Key: { pk: requestPk(hold.requestId), sk: HOLD_SK },
          UpdateExpression: 'SET #state = :released, releasedAt = :at',
          ConditionExpression: '#state = :taken',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':released': 'released', ':taken': 'taken', ':at': at },
        },
      },
      {
        Update: {
          TableName: this.tableName,
          Key: { pk: licencesPk(hold.software), sk: poolSk(hold.version) },
          UpdateExpression: 'SET taken = taken - :one',
          ExpressionAttributeValues: { ':one': 1 },
        },
      },
    ];
  }

  async release(requestId: string, at: string): Promise<boolean> {
    const hold = await this.holdOf(requestId);
    if (!hold || hold.state !== 'taken') return false;
    try {
      await transactWithRetry(this.db, this.releaseItems(hold, at));
      return true;
    } catch (e) {
      if (failedConditions(e).includes(0)) return false;
      throw e;
    }
  }
}
