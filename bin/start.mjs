#!/usr/bin/env node
// `npm start`: runs the esbuild bundle of cdk/local/main.ts (dist/local), rebuilt first when a
// source changed (bin/bundle.mjs).
import { runBundle } from './bundle.mjs';

await runBundle('local', 'start', 'buildLocalCloud');
