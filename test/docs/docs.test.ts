import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { configKeys } from '../../src/config/index.js';
import { examples } from '../../src/http/openapi.js';

const readme = readFileSync('README.md', 'utf8');
const docs = readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f));
/** Where the answers of the endpoints are shown: the README's Try it and the API reference. */
const documented = readme + readFileSync('docs/api.md', 'utf8');
const configuration = readFileSync('docs/configuration.md', 'utf8');

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

test('the documented examples are the OpenAPI examples', (t) => {
  const shown = jsonExamples(documented);
  t.true(shown.length >= 10, `found ${shown.length} JSON examples in the README and docs/api.md`);
  for (const [name, example] of Object.entries(examples)) {
    t.true(shown.some((s) => JSON.stringify(s) === JSON.stringify(example)), `OpenAPI example ${name} is not in the README or docs/api.md as written: ${JSON.stringify(example)}`);
  }
});

test('the example finder does find a changed example (the check above can fail)', (t) => {
  const changed = documented.replace('"reason":"expired","message":"Token expired 33 minutes ago"', '"reason":"expired","message":"Token expired 34 minutes ago"');
  t.not(changed, documented);
  const shown = jsonExamples(changed);
  t.false(shown.some((s) => JSON.stringify(s) === JSON.stringify(examples.validationExpired)));
});

/** The Markdown outside fenced code blocks: a `# comment` in a shell block is no heading, a `](x)` in code no link. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens; a repeated one gets `-1`, `-2`, ... */
function anchors(markdown: string): Set<string> {
  const set = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = heading!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    let anchor = base;
    for (let n = 1; set.has(anchor); n++) anchor = `${base}-${n}`;
    set.add(anchor);
  }
  return set;
}

/** Relative links of a Markdown file that do not resolve: a missing file, or a missing heading in a Markdown file. */
function brokenLinks(file: string, text: string): { broken: string[]; checked: number } {
  const broken: string[] = [];
  let checked = 0;
  for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target!)) continue;
    const [path, anchor] = target!.split('#');
    const resolved = path ? normalize(join(dirname(file), path)) : file;
    checked++;
    if (!existsSync(resolved)) broken.push(`${file}: link to ${target} (${resolved}) is broken`);
    else if (anchor && resolved.endsWith('.md') && !anchors(resolved === file ? text : readFileSync(resolved, 'utf8')).has(anchor)) {
      broken.push(`${file}: no heading #${anchor} in ${resolved}`);
    }
  }
  return { broken, checked };
}

test('every relative link and anchor in the README and docs/*.md resolves', (t) => {
  let checked = 0;
  for (const file of ['README.md', ...docs]) {
    const result = brokenLinks(file, readFileSync(file, 'utf8'));
    t.deepEqual(result.broken, [], file);
    checked += result.checked;
  }
  t.true(checked > 100, `only ${checked} links checked`);
});

test('the link check finds a missing file, a missing heading and a heading that is only a shell comment (it can fail)', (t) => {
  const text = '# Title\n\n```sh\n# not a heading\n```\n[a](#title) [b](docs/none.md) [c](#nowhere) [d](#not-a-heading) [e](docs/api.md#no-such)\n';
  t.deepEqual(brokenLinks('README.md', text).broken, [
    'README.md: link to docs/none.md (docs/none.md) is broken',
    'README.md: no heading #nowhere in README.md',
    'README.md: no heading #not-a-heading in README.md',
    'README.md: no heading #no-such in docs/api.md',
  ]);
});

test('the README links the docs page, the OpenAPI document, the metrics and every guide', (t) => {
  for (const needle of ['/docs', '/openapi.json', '/metrics', 'METRICS_TOKEN']) t.true(readme.includes(needle), needle);
  for (const guide of docs) t.true(readme.includes(`(${guide})`), `README links ${guide}`);
});

/** The guides the README lists (all but the short one, which the others follow). */
const guides = [...readme.matchAll(/\]\(docs\/([a-z0-9-]+\.md)\)/g)]
  .map((m) => m[1]!)
  .filter((g, i, all) => all.indexOf(g) === i && readme.slice(readme.indexOf('## Integration guides')).includes(`(docs/${g})`) && g !== 'validate-a-token.md');
/** Guides a gateway test runs: it reads their blocks (test/gateways/*.gateway.ts). */
const runGuides = new Set(
  readdirSync('test/gateways')
    .filter((f) => f.endsWith('.gateway.ts'))
    .flatMap((f) => [...readFileSync(join('test/gateways', f), 'utf8').matchAll(/docs\/([a-z0-9-]+\.md)/g)].map((m) => m[1]!)),
);
/** Checked against documentation only, and saying so. */
const notRun = new Set(['kong.md']);

test('each integration guide says how it caches and how it was checked, and is run in front of the product unless it says it is not', (t) => {
  t.true(guides.length >= 8, `found ${guides.length} guides in the README`);
  for (const guide of guides) {
    const text = readFileSync(join('docs', guide), 'utf8');
    t.regex(text, /^## .*[Cc]aching/m, `${guide}: a Caching section`);
    t.regex(text, /How this was checked/, `${guide}: how it was checked`);
    t.regex(text, /validate-a-token\.md#4-caching-and-revocation/, `${guide}: links the revocation guarantee`);
    if (guide === 'curl.md') continue; // calls by hand, no product
    if (notRun.has(guide)) {
      t.regex(text, /not\s+run/, `${guide}: says it was not run`);
      t.false(runGuides.has(guide), `${guide}: said not run, but a gateway test reads it`);
    } else {
      t.true(runGuides.has(guide), `${guide}: no test/gateways/*.gateway.ts runs its blocks`);
    }
  }
});

test('every configuration key is in the configuration table (docs/configuration.md)', (t) => {
  // The first cell of each table row, which may name two keys (`PORT` / `HOST`).
  const firstCells = [...configuration.matchAll(/^\| ([^|]+) \|/gm)].map((m) => m[1]!);
  const rows = new Set(firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1])));
  for (const key of configKeys) t.true(rows.has(key), `docs/configuration.md has no row for ${key}`);
});
