// The directory of people on the registry table (docs/registry.md). A person is one item; their
// login name and e-mail address are claimed by two small items (`LOGIN#…`, `EMAIL#…`, lower-case)
// written in the same transaction, so each belongs to one person and resolves with one GetItem.
// The list of people is the sparse GSI3 partition `PEOPLE`, by key.
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { Conflict } from '../../errors.js';
import type { Person } from '../../people/model.js';
import type { PeopleStore } from '../../ports/people.js';
import type { Page, PageRequest } from '../../ports/registry.js';

export const PERSON_SK = 'PERSON';
export const PEOPLE_PARTITION = 'PEOPLE';
export const personPk = (key: string) => `PERSON#${key}`;
export const loginPk = (login: string) => `LOGIN#${login.toLowerCase()}`;
export const emailPk = (email: string) => `EMAIL#${email.toLowerCase()}`;

type Item = Record<string, unknown>;
const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi3pk', 'gsi3sk'];

function personOf(item: Item): Person {
  const out: Item = {};
  for (const [k, v] of Object.entries(item)) if (!KEY_ATTRIBUTES.includes(k)) out[k] = v;
  return out as unknown as Person;
}

export class DynamoPeopleStore implements PeopleStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getPerson(key: string): Promise<Person | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: personPk(key), sk: PERSON_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item ? personOf(out.Item) : undefined;
  }

  async getPeople(keys: string[]): Promise<Map<string, Person>> {
    const found = new Map<string, Person>();
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += 100) {
      let request: Record<string, { Keys: Item[]; ConsistentRead?: boolean }> | undefined = {
        [this.tableName]: {
          Keys: unique.slice(i, i + 100).map((k) => ({ pk: personPk(k), sk: PERSON_SK })),
          ConsistentRead: true,
        },
      };
      for (let attempt = 0; request && attempt < 10; attempt++) {
        const out: BatchGetCommandOutput = await this.db.send(new BatchGetCommand({ RequestItems: request }));
        for (const item of out.Responses?.[this.tableName] ?? []) {
          const person = personOf(item);
          found.set(person.key, person);
        }
        const rest: { Keys?: Item[] } | undefined = out.UnprocessedKeys?.[this.tableName];
        request = rest?.Keys?.length ? { [this.tableName]: rest as { Keys: Item[] } } : undefined;
        if (request) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
      }
      if (request) throw new Error('BatchGetItem left keys unprocessed after 10 attempts');
    }
    return found;
  }

  keyOfLogin(login: string): Promise<string | undefined> {
    return this.claimHolder(loginPk(login));
  }

  keyOfEmail(email: string): Promise<string | undefined> {
    return this.claimHolder(emailPk(email));
  }

  private async claimHolder(pk: string): Promise<string | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk, sk: PERSON_SK }, ConsistentRead: true }),
    );
    return typeof out.Item?.key === 'string' ? out.Item.key : undefined;
  }

  async savePerson(person: Person, previous: Person | undefined): Promise<void> {
    const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [];
    const fields: string[] = [];
    items.push({
      Put: {
        TableName: this.tableName,
        Item: {
          ...person,
          pk: personPk(person.key),
          sk: PERSON_SK,
          gsi3pk: PEOPLE_PARTITION,
          gsi3sk: person.key,
        },
        ...(previous
          ? {
              ConditionExpression: '#rev = :rev',
              ExpressionAttributeNames: { '#rev': 'revision' },
              ExpressionAttributeValues: { ':rev': previous.revision },
            }
          : { ConditionExpression: 'attribute_not_exists(pk)' }),
      },
    });
    fields.push('key');
    const claim = (field: 'login' | 'email', pkOf: (v: string) => string) => {
      const before = previous?.[field];
      const after = person[field];
      if (before?.toLowerCase() === after?.toLowerCase()) return;
      if (before !== undefined) {
        items.push({
          Delete: {
            TableName: this.tableName,
            Key: { pk: pkOf(before), sk: PERSON_SK },
            ConditionExpression: '#key = :key',
            ExpressionAttributeNames: { '#key': 'key' },
            ExpressionAttributeValues: { ':key': person.key },
          },
        });
        fields.push(field);
      }
      if (after !== undefined) {
        items.push({
          Put: {
            TableName: this.tableName,
            Item: { pk: pkOf(after), sk: PERSON_SK, key: person.key, type: field },
            ConditionExpression: 'attribute_not_exists(pk) OR #key = :key',
            ExpressionAttributeNames: { '#key': 'key' },
            ExpressionAttributeValues: { ':key': person.key },
          },
        });
        fields.push(field);
      }
    };
    claim('login', loginPk);
    claim('email', emailPk);
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const failed = (error.CancellationReasons ?? []).findIndex((r) => r.Code === 'ConditionalCheckFailed');
      if (failed < 0) throw error;
      const field = fields[failed]!;
      throw field === 'key'
        ? new Conflict(`${person.key} changed meanwhile: read it again`, 'key')
        : new Conflict(`${field} ${person[field as 'login' | 'email']} belongs to another person`, field);
    }
  }

  async listPeople(page: PageRequest): Promise<Page<Person>> {
    const after = page.after?.k;
    if (after !== undefined && (typeof after !== 'string' || after === ''))
      throw new Error('Malformed page state (k)');
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'GSI3',
        KeyConditionExpression: 'gsi3pk = :pk',
        ExpressionAttributeValues: { ':pk': PEOPLE_PARTITION },
        Limit: page.limit + 1,
        ...(after
          ? {
              ExclusiveStartKey: {
                gsi3pk: PEOPLE_PARTITION,
                gsi3sk: after,
                pk: personPk(after),
                sk: PERSON_SK,
              },
            }
          : {}),
      }),
    );
    const all = (out.Items ?? []).map(personOf);
    const items = all.slice(0, page.limit);
    const last = all.length > page.limit ? items[items.length - 1] : undefined;
    return { items, ...(last ? { next: { k: last.key } } : {}) };
  }
}
