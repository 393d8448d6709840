import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { againIfPortTaken, claimPort, PortInUseError, portsFromEnv } from '../../cdk/local/ports.js';

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

describe('againIfPortTaken', () => {
  it('starts again while a port was taken meanwhile, and gives up after the attempts', async () => {
    const taken = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:40649'), {
      code: 'EADDRINUSE',
    });
    const lines: string[] = [];
    let calls = 0;
    const flaky = async () => {
      calls++;
      if (calls === 1) throw taken;
      return 'up';
    };
    await expect(againIfPortTaken(flaky, 3, (l) => lines.push(l))).resolves.toBe('up');
    expect(calls).toBe(2);
    expect(lines).toEqual([expect.stringContaining('a port was taken meanwhile')]);

    calls = 0;
    const alwaysTaken = async () => {
      calls++;
      throw taken;
    };
    await expect(againIfPortTaken(alwaysTaken, 3)).rejects.toBe(taken);
    expect(calls).toBe(3);
  });

  it('does not start again for any other failure', async () => {
    let calls = 0;
    const broken = new Error('the template names no table');
    await expect(
      againIfPortTaken(async () => {
        calls++;
        throw broken;
      }, 3),
    ).rejects.toBe(broken);
    expect(calls).toBe(1);
  });
});
