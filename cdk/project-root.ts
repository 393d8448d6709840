// The repository's root folder, with no imports beyond node's: the synth entry (cdk/synth.ts)
// needs it before the CDK libraries load.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
