#!/usr/bin/env node
// The `upman` command: loads the TypeScript entry (cli/main.ts) through tsx, so the CLI runs
// from source with no build step.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../cli/main.ts', import.meta.url).href);
