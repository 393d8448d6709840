// aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22+); this machine runs Node 20.
// Imported for its side effect before anything that loads aws-local-stepfunctions.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
(require('promise.withresolvers/shim') as () => void)();
