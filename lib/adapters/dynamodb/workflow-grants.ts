// Stand-in KeyIssuer until the vendor side's lands: records the grant (idempotent per
// request) on the request's partition and issues no key; the approved mail then says the
// key comes on request. The vendor issue's KeyIssuer replaces it (functions/workflow/key-issuer.ts).
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { GrantRequest, GrantResult, KeyIssuer } from '../../ports/key-issuer.js';
import { requestPk } from '../../registry/keys.js';
import { GRANT_SK } from '../../workflow/keys.js';

export class RecordedGrantIssuer implements KeyIssuer {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async grant(request: GrantRequest): Promise<GrantResult> {
    const grantId = `g-${request.requestId.replace(/^r-/, '')}`;
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: requestPk(request.requestId), sk: GRANT_SK },
        UpdateExpression:
          'SET grantId = if_not_exists(grantId, :g), requestId = :r, clientId = :c, #user = :u, software = :s, targetVersion = :v, grantedAt = if_not_exists(grantedAt, :at)',
        ExpressionAttributeNames: { '#user': 'user' },
        ExpressionAttributeValues: {
          ':g': grantId,
          ':r': request.requestId,
          ':c': request.clientId,
          ':u': request.user,
          ':s': request.software,
          ':v': request.targetVersion ?? 'latest',
          ':at': this.now().toISOString(),
        },
      }),
    );
    return { grantId };
  }
}
