import type { Endpoints } from '../../cdk/local/cloud.js';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: Endpoints;
    dataDir: string;
    /** The global setup's control server: GET /schedules, POST /schedules/<id>/fire. */
    control: string;
  }
}
