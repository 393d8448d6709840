// Grants on the registry table (keys in lib/vendor/keys.ts). The completion of a grant is one
// transaction with the registry's own items (installation + history, shaped by the registry's
// adapter) and the workflow's request item, so S605 happens once or not at all. A revocation is
// one transaction too: the grant, the request's REVOKED status, and the ledger's and the licence
// pool's release (items shaped by their own adapters).
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { Conflict } from '../../errors.js';
import type { ClientChanges } from '../../ports/registry.js';
import { REQUEST_SK, requestPk } from '../../registry/keys.js';
import type { LogEvidenceStore } from '../../vendor/access-log-processor.js';
import type { GrantStore } from '../../vendor/grants.js';
import { GRANT_SK, grantOfRequestPk, grantPk, LOG_CURSOR_PK, logEvidenceSk } from '../../vendor/keys.js';
import type { Completion, Grant, LogEvidence } from '../../vendor/model.js';
import type { DynamoLedgerStore } from './ledger-store.js';
import type { DynamoLicenceStore } from './licence-store.js';
import type { DynamoRegistryStore } from './registry-store.js';

type Item = Record<string, unknown>;

const strip = (item: Item): Grant => {
  const { pk: _pk, sk: _sk, type: _type, ...rest } = item;
  // Byte counters of the access logs, on grants from before logs became audit evidence only.
  for (const name of Object.keys(rest)) if (name.startsWith('bytes:')) delete rest[name];
  return rest as unknown as Grant;
};

const cancelReasons = (error: unknown): string[] =>
  error instanceof TransactionCanceledException
    ? (error.CancellationReasons ?? []).map((r) => r.Code ?? 'None')
    : [];

export class DynamoGrantStore implements GrantStore, LogEvidenceStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** The registry's adapter: its journal writes the client's change set in our transaction. */
    private readonly registry: Pick<DynamoRegistryStore, 'journal'>,
    /** The workflow's ledger and licence pools: a revocation gives back what the request holds. */
    private readonly holdings?: {
      ledger: Pick<DynamoLedgerStore, 'reservationOf' | 'movementItems'>;
      licences: Pick<DynamoLicenceStore, 'holdOf' | 'releaseItems'>;
    },
  ) {}

  async createGrant(grant: Grant): Promise<Grant> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  pk: grantOfRequestPk(grant.requestId),
                  sk: GRANT_SK,
                  type: 'grant-of-request',
                  grantId: grant.grantId,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: { pk: grantPk(grant.grantId), sk: GRANT_SK, type: 'grant', ...grant },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return grant;
    } catch (error) {
      if (cancelReasons(error)[0] !== 'ConditionalCheckFailed') throw error;
      const existing = await this.grantOfRequest(grant.requestId);
      if (!existing) throw error;
      return existing;
    }
  }

  async getGrant(grantId: string): Promise<Grant | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: grantPk(grantId), sk: GRANT_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item ? strip(out.Item) : undefined;
  }

  async grantOfRequest(requestId: string): Promise<Grant | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: grantOfRequestPk(requestId), sk: GRANT_SK },
        ConsistentRead: true,
      }),
    );
    return typeof out.Item?.grantId === 'string' ? this.getGrant(out.Item.grantId) : undefined;
  }

  async pinRevision(grantId: string, revision: number): Promise<number> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: grantPk(grantId), sk: GRANT_SK },
          UpdateExpression: 'SET targetRevision = :r',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(targetRevision)',
          ExpressionAttributeValues: { ':r': revision },
        }),
      );
      return revision;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const pinned = (await this.getGrant(grantId))?.targetRevision;
      if (pinned === undefined) throw error;
      return pinned;
    }
  }

  async revoke(grant: Grant, by: string, at: string): Promise<'revoked' | 'already' | 'completed'> {
    const TableName = this.tableName;
    const note = `download grant ${grant.grantId} revoked`;
    for (let attempt = 1; ; attempt++) {
      const [reservation, hold, request] = await Promise.all([
        this.holdings?.ledger.reservationOf(grant.requestId),
        this.holdings?.licences.holdOf(grant.requestId),
        this.db.send(
          new GetCommand({
            TableName,
            Key: { pk: requestPk(grant.requestId), sk: REQUEST_SK },
            ConsistentRead: true,
            ProjectionExpression: 'pk',
          }),
        ),
      ]);
      const items: Array<Record<string, unknown>> = [
        {
          Update: {
            TableName,
            Key: { pk: grantPk(grant.grantId), sk: GRANT_SK },
            UpdateExpression: 'SET #s = :revoked, revokedAt = :at, revokedBy = :by',
            ConditionExpression:
              'attribute_exists(pk) AND #s = :active AND attribute_not_exists(completedAt)',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':revoked': 'revoked', ':active': 'active', ':at': at, ':by': by },
          },
        },
      ];
      if (request.Item) {
        // The request leaves flight: the forecast stops counting it.
        items.push({
          Update: {
            TableName,
            Key: { pk: requestPk(grant.requestId), sk: REQUEST_SK },
            UpdateExpression:
              'SET #s = :revoked, statusReason = :why, steps.#step = :record REMOVE gsi2pk, gsi2sk',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#s': 'status', '#step': 'REVOKED' },
            ExpressionAttributeValues: {
              ':revoked': 'REVOKED',
              ':why': `The download grant was revoked by ${by}.`,
              ':record': { at, by, grantId: grant.grantId },
            },
          },
        });
      }
      // What the purchase order committed (or a line still reserved) goes back to the budget.
      if (reservation && (reservation.state === 'committed' || reservation.state === 'reserved')) {
        items.push(
          ...this.holdings!.ledger.movementItems(reservation, reservation.state, 'release', by, at, note),
        );
      }
      if (hold?.state === 'taken') items.push(...this.holdings!.licences.releaseItems(hold, at));
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        return 'revoked';
      } catch (error) {
        const reasons = cancelReasons(error);
        if (reasons[0] === 'ConditionalCheckFailed') {
          const stored = await this.getGrant(grant.grantId);
          if (!stored) throw error;
          return stored.completedAt ? 'completed' : 'already';
        }
        // The reservation or the hold moved meanwhile: read again and retry.
        if (
          (reasons.includes('ConditionalCheckFailed') || reasons.includes('TransactionConflict')) &&
          attempt < 5
        )
          continue;
        throw error;
      }
    }
  }

  async complete(grant: Grant, completion: Completion, change: ClientChanges | undefined) {
    const TableName = this.tableName;
    const items: Array<Record<string, unknown>> = [
      {
        Update: {
          TableName,
          Key: { pk: grantPk(grant.grantId), sk: GRANT_SK },
          UpdateExpression: 'SET completedAt = :at, completion = :c',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(completedAt)',
          ExpressionAttributeValues: { ':at': completion.at, ':c': completion },
        },
      },
    ];
    // Conflict while another change of the client's inventory is still being written.
    if (change) items.push(...this.registry.journal.transactionActions(change));
    // The workflow's request leaves flight (the forecast stops counting it), if there is one.
    const request = await this.db.send(
      new GetCommand({
        TableName,
        Key: { pk: requestPk(grant.requestId), sk: REQUEST_SK },
        ConsistentRead: true,
      }),
    );
    if (request.Item) {
      items.push({
        Update: {
          TableName,
          Key: { pk: requestPk(grant.requestId), sk: REQUEST_SK },
          UpdateExpression: 'SET #s = :downloaded, downloadedAt = :at REMOVE gsi2pk, gsi2sk',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':downloaded': 'DOWNLOADED', ':at': completion.at },
        },
      });
    }
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return 'completed' as const;
    } catch (error) {
      const reasons = cancelReasons(error);
      if (reasons[0] === 'ConditionalCheckFailed') return 'already' as const;
      if (reasons.includes('ConditionalCheckFailed')) {
        throw new Conflict(`The registry entry of ${grant.software} on ${grant.clientId} changed meanwhile`);
      }
      throw error;
    }
  }

  async markNoticeSent(grantId: string, at: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: grantPk(grantId), sk: GRANT_SK },
          UpdateExpression: 'SET noticeSentAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(noticeSentAt)',
          ExpressionAttributeValues: { ':at': at },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  // ---- the access-log processor's audit evidence -----------------------------------------------

  async recordLogEvidence(evidence: LogEvidence): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: grantPk(evidence.grantId),
            sk: logEvidenceSk(evidence.logObject, evidence.artifactKey),
            type: 'download-log-evidence',
            ...evidence,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      // A re-listed log object: its evidence is stored already.
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async getCursor(source: string): Promise<string | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: LOG_CURSOR_PK, sk: source },
        ConsistentRead: true,
      }),
    );
    return typeof out.Item?.after === 'string' ? out.Item.after : undefined;
  }

  async setCursor(source: string, after: string): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: LOG_CURSOR_PK, sk: source, type: 'download-log-cursor', after },
      }),
    );
  }
}
