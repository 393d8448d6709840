import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { claimPort, PortInUseError, portsFromEnv } from '../../cdk/local/ports.js';

describe('claimPort', () => {
  it('names the service and the port when the port is taken', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const port = (holder.address() as { port: number }).port;
    try {
      const error = await claimPort('dynamodb', port).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PortInUseError);
      expect((error as Error).message).toContain(`Port ${port} (dynamodb) is already in use`);
      expect((error as Error).message).toContain('UPMAN_PORT_DYNAMODB');
    } finally {
      holder.close();
    }
  });

  it('gives a free port for 0', async () => {
    expect(await claimPort('api', 0)).toBeGreaterThan(0);
  });
});

describe('portsFromEnv', () => {
  it('overrides defaults and rejects nonsense', () => {
    expect(portsFromEnv({ UPMAN_PORT_API: '5000' }).api).toBe(5000);
    expect(() => portsFromEnv({ UPMAN_PORT_S3: 'abc' })).toThrow(/UPMAN_PORT_S3 must be a port number/);
  });
});
