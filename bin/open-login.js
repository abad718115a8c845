#!/usr/bin/env node
import { existsSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';

// The built CLI (npm run build); in a clone after `npm install`, the TypeScript source through tsx.
const built = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const source = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else if (existsSync(source)) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('open-login: not built and tsx is not installed; run `npm install` (or `npm run build`) first\n');
    process.exit(1);
  }
  register();
  await import(pathToFileURL(source).href);
} else {
  process.stderr.write('open-login: not built yet; run `npm run build` first\n');
  process.exit(1);
}
