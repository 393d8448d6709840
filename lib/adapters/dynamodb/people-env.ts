// The directory's ports for a Lambda function, built once per container from TABLE_NAME, and
// the per-container TokenDirectory that keeps callers' entries in step with their tokens.
import { logger } from '../../http/handler.js';
import { TokenDirectory } from '../../people/directory.js';
import { sharedDocumentClient } from './client.js';
import { DynamoPeopleStore } from './people-store.js';

let directory: TokenDirectory | undefined;

export function peopleStore(): DynamoPeopleStore {
  const table = process.env.TABLE_NAME;
  if (!table) throw new Error('Environment variable TABLE_NAME is not set');
  return new DynamoPeopleStore(sharedDocumentClient(), table);
}

export function tokenDirectory(): TokenDirectory {
  directory ??= new TokenDirectory({ people: peopleStore() }, (message, detail) =>
    logger.warn(message, detail),
  );
  return directory;
}
