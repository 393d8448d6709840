// Storage of the directory of people (lib/people/directory.ts). A person's login name and e-mail
// address each belong to one person at most; the store keeps that true.
import type { Person } from '../people/model.js';
import type { Page, PageRequest } from './registry.js';

export interface PeopleStore {
  getPerson(key: string): Promise<Person | undefined>;
  getPeople(keys: string[]): Promise<Map<string, Person>>;
  /** The key of the person with this login name or e-mail (either case), if any. */
  keyOfLogin(login: string): Promise<string | undefined>;
  keyOfEmail(email: string): Promise<string | undefined>;
  /**
   * Writes a person as one transaction with its login and e-mail claims. Conflict (409, naming
   * `login` or `email`) when another person holds one of them, or when the person changed since
   * `previous` was read.
   */
  savePerson(person: Person, previous: Person | undefined): Promise<void>;
  listPeople(page: PageRequest): Promise<Page<Person>>;
}
