// Ports of the local cloud. Each service has a default that `npm start` uses; tests pass 0 to
// get free ports. A port already in use is reported by name before anything else starts.
import { createServer } from 'node:net';

export const SERVICES = ['api', 'mail', 's3', 'dynamodb', 'sqs', 'sfn', 'issuer', 'kms', 'sts'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const DEFAULT_PORTS: Record<ServiceName, number> = {
  api: 4010,
  issuer: 4011,
  s3: 4569,
  sqs: 4566,
  sfn: 8083,
  mail: 8005,
  dynamodb: 8000,
  kms: 4599,
  sts: 4572,
};

export class PortInUseError extends Error {
  constructor(
    readonly service: string,
    readonly port: number,
  ) {
    super(
      `Port ${port} (${service}) is already in use. Stop whatever holds it (is the local cloud already running? ` +
        `try: lsof -i :${port}) or choose another port with UPMAN_PORT_${service.toUpperCase()}=<port>.`,
    );
  }
}

/** Resolves a port: 0 asks the OS for a free one, which is returned. */
export async function claimPort(service: string, port: number, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? new PortInUseError(service, port) : err);
    });
    server.listen(port, host, () => {
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(actual));
    });
  });
}

/** Ports from the environment (UPMAN_PORT_API=…), falling back to the defaults. */
export function portsFromEnv(env: NodeJS.ProcessEnv = process.env): Record<ServiceName, number> {
  const ports = { ...DEFAULT_PORTS };
  for (const service of SERVICES) {
    const value = env[`UPMAN_PORT_${service.toUpperCase()}`];
    if (value === undefined) continue;
    const port = Number(value);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new Error(`UPMAN_PORT_${service.toUpperCase()} must be a port number, got "${value}"`);
    }
    ports[service] = port;
  }
  return ports;
}

/** Runs `start` again (up to `attempts` in all) while it fails because an address was in use. */
export async function againIfPortTaken<T>(
  start: () => Promise<T>,
  attempts: number,
  log: (line: string) => void = () => {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= attempts || !isAddressInUse(error)) throw error;
      log(`a port was taken meanwhile (${(error as Error).message}): starting again`);
    }
  }
}

function isAddressInUse(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(String(message));
}
