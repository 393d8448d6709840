// Directory entries for what pages show (display names), kept per container for a short time.
// A page may name someone by their old display name for a minute after a rename; it must not
// cost a directory read per view. Mail never reads through this: its addresses stay fresh.
import type { DirectoryReader } from '../mail/delivery.js';
import type { Person } from './model.js';

export const NAME_CACHE_MS = 60_000;
/** Entries kept at most (oldest dropped first): a container serves a few people at a time. */
const MAX_ENTRIES = 1000;

export class DisplayNameCache implements DirectoryReader {
  private readonly entries = new Map<string, { person?: Person; until: number }>();

  constructor(
    private readonly people: DirectoryReader,
    private readonly ttlMs = NAME_CACHE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async getPeople(keys: string[]): Promise<Map<string, Person>> {
    const now = this.now();
    const found = new Map<string, Person>();
    const missing: string[] = [];
    for (const key of new Set(keys)) {
      const entry = this.entries.get(key);
      if (entry && entry.until > now) {
        if (entry.person) found.set(key, entry.person);
      } else missing.push(key);
    }
    if (missing.length === 0) return found;
    const read = await this.people.getPeople(missing);
    for (const key of missing) {
      const person = read.get(key);
      if (person) found.set(key, person);
      this.entries.delete(key);
      this.entries.set(key, { ...(person ? { person } : {}), until: now + this.ttlMs });
    }
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    return found;
  }
}
