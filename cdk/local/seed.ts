// Demo data for `npm start`: the patent's Fig. 4 people, their clients and software.
import type { Endpoints } from './cloud.js';

export async function seedDemoData(endpoints: Endpoints, log: (line: string) => void): Promise<void> {
  const { seedRegistryAt } = await import('../../lib/registry/seed.js');
  const written = await seedRegistryAt(endpoints);
  log(`demo data: ${written}`);
}
