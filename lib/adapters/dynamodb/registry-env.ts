// The registry's ports for a Lambda function, built once per container from its environment
// (set by RegistryApi through AppFunction.bind*). Missing settings fail at load, by name.
import { createCursorCodec } from '../../registry/cursor.js';
import { sharedDocumentClient } from './client.js';
import { DynamoPeopleStore } from './people-store.js';
import { DynamoRegistryStore } from './registry-store.js';
import { DynamoVendorRootStore } from './vendor-root-store.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}

let ports: ReturnType<typeof build> | undefined;

/** The registry store alone, for a function that needs nothing else (the department migration). */
export function registryStore(): DynamoRegistryStore {
  return new DynamoRegistryStore(sharedDocumentClient(), required('TABLE_NAME'));
}

function build() {
  const store = registryStore();
  return {
    store,
    approvers: store,
    announcements: store,
    people: new DynamoPeopleStore(sharedDocumentClient(), required('TABLE_NAME')),
    vendorRoot: new DynamoVendorRootStore(sharedDocumentClient(), required('TABLE_NAME')),
    cursors: createCursorCodec(required('CURSOR_KEY')),
  };
}

export function registryPorts() {
  ports ??= build();
  return ports;
}
