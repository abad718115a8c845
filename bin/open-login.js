#!/usr/bin/env node
import { existsSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';

const entry = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));

if (existsSync(entry)) {
  await import(pathToFileURL(entry).href);
} else {
  process.stderr.write('open-login: not built yet; run `npm run build` first (or use `npm run cli -- <command>` from the source tree)\n');
  process.exit(1);
}
