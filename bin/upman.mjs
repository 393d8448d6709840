#!/usr/bin/env node
// The `upman` command: runs the esbuild bundle of cli/main.ts (dist/cli), rebuilt first when a
// source changed (bin/bundle.mjs).
import { runBundle } from './bundle.mjs';

await runBundle('cli', 'upman', 'buildCli');
