import type { Endpoints } from '../../cdk/local/cloud.js';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: Endpoints;
    dataDir: string;
  }
}
