#!/usr/bin/env node
import { existsSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';

// In a clone with its dev dependencies, the TypeScript source through tsx, so the CLI is always the
// code checked out (a dist/ left from an earlier build could be older). Elsewhere (an image or an
// install without dev dependencies), the built CLI of `npm run build`.
const built = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const source = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

let register;
if (existsSync(source)) {
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    register = undefined;
  }
}
if (register) {
  register();
  await import(pathToFileURL(source).href);
} else if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  process.stderr.write('open-login: not built yet; run `npm install` and `npm run build` first\n');
  process.exit(1);
}
