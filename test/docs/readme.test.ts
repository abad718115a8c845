import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configKeys } from '../../src/config/index.js';
import { freePort } from '../helpers/ports.js';
import { eventually } from '../helpers/wait.js';

/**
 * The README as a newcomer meets it: the first screen names the two
 * commands, and the "Try it" block runs as written (only the port changed)
 * against the real server that `npm start` builds and starts, on the embedded
 * store, and shows an active token. Links are checked in docs.test.ts.
 */

const readme = readFileSync('README.md', 'utf8');

/** The text before the first `## ` heading: what the first screen shows. */
function firstScreen(markdown: string): string {
  return markdown.split(/^## /m)[0]!;
}

/** The first ```sh block of the section under `## title`, or undefined. */
function shellBlock(markdown: string, title: string): string | undefined {
  const section = new RegExp(`^## ${title}\\n([\\s\\S]*?)(?=^## |(?![\\s\\S]))`, 'm').exec(markdown)?.[1];
  return section === undefined ? undefined : /```sh\n([\s\S]*?)```/.exec(section)?.[1];
}

/** Every line of `output` that is a JSON object. */
function jsonLines(output: string): Array<Record<string, unknown>> {
  return output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

test('the first screen says what the server is and gives the commands to run it and to test it', (t) => {
  const screen = firstScreen(readme);
  t.true(screen.split('\n').length <= 40, `the first screen is ${screen.split('\n').length} lines`);
  t.regex(screen, /^# Open Login token introspection server\n/);
  t.regex(screen, /RFC 7662/);
  const commands = /```sh\n([\s\S]*?)```/.exec(screen)?.[1] ?? '';
  t.regex(commands, /^npm install && npm start\b/m, 'runs the server');
  t.regex(commands, /^npm test\b/m, 'runs the tests');
  // The full check runs the README's test command.
  t.regex(readFileSync('.ci/run', 'utf8'), /\bnpm test\b/);
});

test('the README checks above find a missing command and a missing Try it block (they can fail)', (t) => {
  const withoutTest = readme.replace(/^npm test\b.*$/m, '');
  t.notRegex((/```sh\n([\s\S]*?)```/.exec(firstScreen(withoutTest))?.[1]) ?? '', /^npm test\b/m);
  t.is(shellBlock(readme.replace('## Try it', '## Try this'), 'Try it'), undefined);
  t.truthy(shellBlock(readme, 'Try it'));
});

test('the "Try it" block runs as written and shows an active token, then a revoked one', async (t) => {
  t.timeout(240_000);
  const block = shellBlock(readme, 'Try it');
  if (block === undefined) return t.fail('no ```sh block under "## Try it"');
  t.true(block.includes('localhost:3000'), 'the block talks to port 3000');
  t.false(/\bjq\b/.test(block), 'jq is not on a fresh machine');
  const port = await freePort();
  const script = block.replaceAll('localhost:3000', `localhost:${port}`);

  // The server's settings are the defaults, as on a fresh machine: nothing
  // from this environment (no MongoDB), only the port and a fresh key folder.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of [...configKeys, 'CONFIG_FILE']) delete env[key];
  const keysDir = mkdtempSync(join(tmpdir(), 'open-login-readme-keys-'));
  Object.assign(env, { PORT: String(port), KEYS_DIR: keysDir });

  // Its own process group, so that the server it starts in the background stops with it.
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stopGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // Already gone.
    }
  };
  t.teardown(async () => {
    stopGroup();
    // The port is free again once the server has stopped.
    await eventually(async () => !(await fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false)), 10_000, 100);
    rmSync(keysDir, { recursive: true, force: true });
  });

  const exitCode = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      stopGroup();
      resolve(null);
    }, 200_000);
    // `exit`, not `close`: a server left in the background holding the output open must not keep the test waiting.
    child.on('exit', (code) => {
      clearTimeout(timer);
      const drained = new Promise((done) => child.stdout.once('end', done));
      void Promise.race([drained, new Promise((done) => setTimeout(done, 1000))]).then(() => resolve(code));
    });
  });
  const shown = `stdout:\n${stdout}\nstderr:\n${stderr}`;
  t.is(exitCode, 0, shown);

  const answers = jsonLines(stdout);
  const active = answers.find((a) => 'active' in a);
  t.like(active, { active: true, sub: 'c42', site_id: 'energy-intel', client_id: 'open-login' }, shown);
  t.regex(stdout, /^\{"active":true,/m, 'the answer reads "active":true as printed');
  t.like(answers.find((a) => 'valid' in a), { valid: true, customer_id: 'c42' }, shown);
  t.deepEqual(answers.filter((a) => 'active' in a).at(-1), { active: false, reason: 'revoked' }, shown);
});
