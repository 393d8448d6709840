// The agent's API client against a stubbed fetch: how it answers the registry's 409 on a report.
import { describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../../agent/api.js';

function stub(statuses: number[]) {
  const calls: string[] = [];
  const fetchFn = (async (url: string, init: RequestInit) => {
    calls.push(`${init.method} ${url} ${init.body}`);
    const status = statuses[calls.length - 1] ?? 500;
    const body =
      status === 409
        ? {
            message:
              'Another change of the inventory of pc-1 is still being written; report again in a moment',
          }
        : status === 200
          ? { clientId: 'pc-1', installed: 1, updated: 0, removed: 0, unchanged: 0 }
          : { message: 'items[0].version is not a version', field: 'items[0].version' };
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return {
    calls,
    api: new ApiClient({ api: 'http://api.test', token: 't', fetchFn, inventoryRetryDelaysMs: [1, 1] }),
  };
}

const items = [
  { software: 'editor', version: '1.0', revision: 1, installedAt: '2025-01-01T00:00:00Z', user: 'alice' },
];

describe('ApiClient.putInventory', () => {
  it('sends the same report again after a 409, and answers the registry’s result', async () => {
    const { calls, api } = stub([409, 409, 200]);
    expect(await api.putInventory('pc-1', items)).toMatchObject({ clientId: 'pc-1', installed: 1 });
    expect(calls).toHaveLength(3);
    expect(new Set(calls).size).toBe(1); // the same request each time
  });

  it('gives up after its retries with the server’s message', async () => {
    const { calls, api } = stub([409, 409, 409, 200]);
    const error = await api.putInventory('pc-1', items).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, code: 'conflict', exitCode: 5 });
    expect((error as ApiError).message).toMatch(/still being written.*run the command again/);
    expect(calls).toHaveLength(3);
  });

  it('does not resend on other errors', async () => {
    const { calls, api } = stub([400]);
    await expect(api.putInventory('pc-1', items)).rejects.toBeInstanceOf(ApiError);
    expect(calls).toHaveLength(1);
  });
});
