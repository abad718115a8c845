import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configKeys, describeSettings, loadConfig, type ConfigInput } from '../../src/config/index.js';

/** The rows of the table under `## Configuration` in docs/configuration.md: cells, split on unescaped `|`. */
function configurationTable(markdown: string): string[][] {
  const section = /^## Configuration\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(markdown);
  if (!section) return [];
  return section[1]!
    .split('\n')
    .filter((line) => line.startsWith('| '))
    .slice(2) // the header and the |---| line
    .map((line) => line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()));
}

/** Variable names in the first cell of each row (one row may name two: `PORT` / `HOST`), with that row. */
function rowsByVariable(markdown: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const row of configurationTable(markdown)) {
    for (const [, name] of row[0]!.matchAll(/`([A-Z0-9_]+)`/g)) rows.set(name!, row);
  }
  return rows;
}

const readme = readFileSync('docs/configuration.md', 'utf8');

test('the configuration table (docs/configuration.md) lists exactly the declared variables', (t) => {
  const documented = [...rowsByVariable(readme).keys()].sort();
  t.true(documented.length > 0, 'no configuration table found under "## Configuration"');
  t.deepEqual(documented, [...configKeys].sort());
});

test('the configuration table check finds a missing and an undeclared row (it can fail)', (t) => {
  const dropped = readme.replace(/^\| `STORE_TIMEOUT_MS` \|.*\n/m, '');
  t.not(dropped, readme);
  t.false(rowsByVariable(dropped).has('STORE_TIMEOUT_MS'));
  const added = readme.replace(/^(\| `STORE_TIMEOUT_MS` \|.*\n)/m, '$1| `STORE_TIMEOUT_SECONDS` | `2` | old name |\n');
  t.true(rowsByVariable(added).has('STORE_TIMEOUT_SECONDS'));
});

test('the documented default of each setting with a plain default is that default', (t) => {
  const rows = rowsByVariable(readme);
  let checked = 0;
  for (const { env, default: value } of describeSettings()) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) continue; // unset, or filled from other settings
    const defaultCell = rows.get(env)?.[1] ?? '';
    t.true(defaultCell.includes(`\`${String(value)}\``), `documented default of ${env} is "${defaultCell}", declared ${String(value)}`);
    checked++;
  }
  t.true(checked >= 20, `only ${checked} defaults checked`);
});

test('variable names are unique, and each setting has a one-line description', (t) => {
  t.is(new Set(configKeys).size, configKeys.length);
  t.false((configKeys as string[]).includes('CONFIG_FILE'));
  for (const { env, description } of describeSettings()) {
    t.regex(env, /^[A-Z][A-Z0-9_]*$/);
    t.true(description.length > 10 && !description.includes('\n'), `${env}: ${description}`);
  }
});

test('a wrong value of any setting, from the environment or the file, is plain words after its name', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'open-login-settings-'));
  const file = join(dir, 'config.json');
  // A JSON object is wrong for every setting; the strings are wrong for most.
  const wrong: unknown[] = [{}, [], null, 'not-a-valid-value', '-1.5'];
  let refused = 0;
  for (const env of configKeys) {
    for (const value of wrong) {
      writeFileSync(file, JSON.stringify({ [env]: value }));
      const inputs = typeof value === 'string' ? [{ [env]: value }, { CONFIG_FILE: file }] : [{ CONFIG_FILE: file }];
      for (const input of inputs) {
        let message: string;
        try {
          loadConfig(input as ConfigInput);
          continue;
        } catch (error) {
          t.true(error instanceof ConfigError, String(error));
          message = (error as Error).message;
        }
        refused++;
        const label = `${JSON.stringify(input)}: ${message}`;
        t.true(message.startsWith(`${env}: must `) || message.startsWith(`${env}: is `), label);
        t.false(/\n|Invalid|expected|received|"/.test(message), label);
      }
    }
  }
  t.true(refused > configKeys.length * 3, `only ${refused} refusals`);
});

test('number settings take decimal digits or a JSON number only: hex, exponents, fractions, booleans and null are refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'open-login-numbers-'));
  const file = join(dir, 'config.json');
  for (const value of ['0x10', '1e3', '12.0', '0b11', '0o7', '3000abc', ' ', 'Infinity', '']) {
    if (value.trim() !== '') {
      const error = t.throws(() => loadConfig({ PORT: value }), { instanceOf: ConfigError }, `PORT=${JSON.stringify(value)}`);
      t.is(error?.message, 'PORT: must be a whole number from 0 to 65535');
    }
    writeFileSync(file, JSON.stringify({ PORT: value }));
    t.throws(() => loadConfig({ CONFIG_FILE: file }), { instanceOf: ConfigError, message: 'PORT: must be a whole number from 0 to 65535' }, `file ${value}`);
  }
  for (const value of [null, true, false, 1e3 + 0.5, [], {}]) {
    writeFileSync(file, JSON.stringify({ PORT: value }));
    t.throws(() => loadConfig({ CONFIG_FILE: file }), { instanceOf: ConfigError, message: 'PORT: must be a whole number from 0 to 65535' }, `file ${JSON.stringify(value)}`);
  }
  // What is meant is still read: digits, a JSON number, surrounding spaces from a shell.
  t.is(loadConfig({ PORT: '3001' }).port, 3001);
  t.is(loadConfig({ PORT: ' 3002 ' }).port, 3002);
  writeFileSync(file, JSON.stringify({ PORT: 3003, WORKERS: 2 }));
  t.is(loadConfig({ CONFIG_FILE: file }).port, 3003);
  t.is(loadConfig({ CONFIG_FILE: file }).workers, 2);
  t.is(loadConfig({}).port, 3000);
  t.is(loadConfig({}).workers, null);
});
