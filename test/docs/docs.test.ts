import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { configKeys } from '../../src/config/index.js';
import { examples } from '../../src/http/openapi.js';

const readme = readFileSync('README.md', 'utf8');
const docs = readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f));

/** Every JSON value shown in a Markdown file: ```json blocks and `# {...}` answer comments in shell blocks. */
function jsonExamples(markdown: string): unknown[] {
  const found: unknown[] = [];
  const tryParse = (text: string) => {
    try {
      found.push(JSON.parse(text));
      return true;
    } catch {
      return false;
    }
  };
  // Inline answers in prose: `{"error": "invalid_request", ...}`.
  for (const [, inline] of markdown.matchAll(/`(\{[^`]*\})`/g)) tryParse(inline!);
  for (const [, lang, body] of markdown.matchAll(/```(\w*)\n([\s\S]*?)```/g)) {
    if (lang === 'json') {
      if (!tryParse(body!)) for (const line of body!.split('\n')) if (line.trim()) tryParse(line);
    } else if (lang === 'sh') {
      // An answer shown as comments: "# {...", continued by "#  ..." lines.
      const lines = body!.split('\n');
      for (let i = 0; i < lines.length; i++) {
        if (!/^# \{/.test(lines[i]!)) continue;
        let text = lines[i]!.slice(2);
        while (i + 1 < lines.length && /^# {2}/.test(lines[i + 1]!)) text += lines[++i]!.slice(2);
        tryParse(text);
      }
    }
  }
  return found;
}

test('the README examples are the OpenAPI examples', (t) => {
  const shown = jsonExamples(readme);
  t.true(shown.length >= 10, `found ${shown.length} JSON examples in the README`);
  for (const [name, example] of Object.entries(examples)) {
    t.true(shown.some((s) => JSON.stringify(s) === JSON.stringify(example)), `OpenAPI example ${name} is not in the README as written: ${JSON.stringify(example)}`);
  }
});

test('the example finder does find a changed example (the check above can fail)', (t) => {
  const changed = readme.replace('"reason":"expired","message":"Token expired 33 minutes ago"', '"reason":"expired","message":"Token expired 34 minutes ago"');
  t.not(changed, readme);
  const shown = jsonExamples(changed);
  t.false(shown.some((s) => JSON.stringify(s) === JSON.stringify(examples.validationExpired)));
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const set = new Set<string>();
  for (const [, heading] of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    set.add(heading!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  }
  return set;
}

test('every relative link in the README and the guides points to an existing file and heading', (t) => {
  let checked = 0;
  for (const file of ['README.md', ...docs]) {
    const text = readFileSync(file, 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [path, anchor] = target!.split('#');
      const resolved = path ? normalize(join(dirname(file), path)) : file;
      t.true(existsSync(resolved), `${file}: link to ${target} (${resolved}) is broken`);
      if (anchor && resolved.endsWith('.md') && existsSync(resolved)) {
        t.true(anchors(readFileSync(resolved, 'utf8')).has(anchor), `${file}: no heading #${anchor} in ${resolved}`);
      }
      checked++;
    }
  }
  t.true(checked > 20, `only ${checked} links checked`);
});

test('the README links the docs page, the OpenAPI document, the metrics and every guide', (t) => {
  for (const needle of ['/docs', '/openapi.json', '/metrics', 'METRICS_TOKEN']) t.true(readme.includes(needle), needle);
  for (const guide of docs) t.true(readme.includes(`(${guide})`), `README links ${guide}`);
});

test('each integration guide says how it caches and how it was checked', (t) => {
  const guides = ['curl.md', 'node-clients.md', 'spring-security.md', 'kong.md', 'apache-mod-auth-openidc.md', 'nginx-njs.md'];
  for (const guide of guides) {
    const text = readFileSync(join('docs', guide), 'utf8');
    t.regex(text, /^## Caching/m, `${guide}: a Caching section`);
    t.regex(text, /How this was checked:/, `${guide}: how it was checked`);
    t.regex(text, /validate-a-token\.md#4-caching-and-revocation/, `${guide}: links the revocation guarantee`);
    // No guide claims to have run a product it did not run.
    if (!['curl.md', 'node-clients.md'].includes(guide)) t.regex(text, /was not\s+run here/, `${guide}: says it was not run`);
  }
});

test('every configuration key is in the README configuration table', (t) => {
  // The first cell of each table row, which may name two keys (`PORT` / `HOST`).
  const firstCells = [...readme.matchAll(/^\| ([^|]+) \|/gm)].map((m) => m[1]!);
  const rows = new Set(firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1])));
  for (const key of configKeys) t.true(rows.has(key), `README has no row for ${key}`);
});
