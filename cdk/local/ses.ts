// SES: aws-ses-v2-local, whose web viewer is the local mailbox (GET / shows it, GET /store
// lists the mails as JSON). Its store is in memory; it is written to dataDir on stop and
// loaded again on start, so the mailbox survives a restart like the rest of .local/.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

interface StoreModule {
  saveEmail(email: unknown): void;
  getStoreReadonly(): { emails: unknown[] };
}

const require = createRequire(import.meta.url);
// The same module instance the server uses (the package is CommonJS).
const store = require('aws-ses-v2-local/dist/store.js') as StoreModule;
const { default: server } = require('aws-ses-v2-local') as {
  default: (config?: { host?: string; port?: number }) => Promise<Server>;
};

export interface LocalSes {
  url: string;
  stop(): Promise<void>;
}

export async function startLocalSes(options: { port: number; dataDir?: string }): Promise<LocalSes> {
  const file = options.dataDir ? join(options.dataDir, 'mail.json') : undefined;
  if (file && existsSync(file) && store.getStoreReadonly().emails.length === 0) {
    for (const email of JSON.parse(readFileSync(file, 'utf8')) as unknown[]) store.saveEmail(email);
  }
  const http: Server = await server({ host: '127.0.0.1', port: options.port });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (file) writeFileSync(file, JSON.stringify(store.getStoreReadonly().emails));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
