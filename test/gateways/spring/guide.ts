/**
 * The guide's Java sources: the blocks of docs/spring-security.md named
 * `src/main/java/...`. `.ci/gateways/spring.sh` runs this file to write them
 * into the Maven project it builds (`node --import tsx test/gateways/spring/guide.ts DIR`);
 * the test reads them again to make sure the jar it starts was built from the
 * page as it is now.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guideFiles } from '../harness.js';

export const GUIDE = 'docs/spring-security.md';

/** The guide's Java files by their path in a Maven project. */
export function guideSources(): Map<string, string> {
  const sources = new Map([...guideFiles(GUIDE)].filter(([name]) => name.startsWith('src/main/java/')));
  if (sources.size === 0) throw new Error(`${GUIDE}: no src/main/java/ blocks`);
  return sources;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = process.argv[2];
  if (!target) throw new Error('usage: guide.ts MAVEN_PROJECT_DIR');
  for (const [name, text] of guideSources()) {
    mkdirSync(dirname(join(target, name)), { recursive: true });
    writeFileSync(join(target, name), text);
  }
}
