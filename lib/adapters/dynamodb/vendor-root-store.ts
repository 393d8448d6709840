// The organisation's pinned vendor root on the registry table: one item.
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { PinnedVendorRoot, VendorRootStore } from '../../registry/vendor-root.js';

const KEY = { pk: 'VENDORROOT', sk: 'VENDORROOT' };

export class DynamoVendorRootStore implements VendorRootStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getVendorRoot(): Promise<PinnedVendorRoot | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: KEY, ConsistentRead: true }),
    );
    if (!res.Item) return undefined;
    const { root, version, sha256, pinnedAt, pinnedBy } = res.Item;
    return { root: JSON.parse(root as string), version, sha256, pinnedAt, pinnedBy } as PinnedVendorRoot;
  }

  async putVendorRoot(pinned: PinnedVendorRoot): Promise<void> {
    // Stored as text: the signatures cover the document as the vendor wrote it.
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...KEY, ...pinned, root: JSON.stringify(pinned.root) },
      }),
    );
  }
}
