import test from 'ava';
import { spawn } from 'node:child_process';

/**
 * Standard output that does not keep up: the log must not grow without
 * bound. A child logs far more than its standard output (a non-blocking
 * socket, as Node leaves it once `process.stdout` has been used) takes while
 * nobody reads it; then the reading starts.
 */

const LIMIT = 256 * 1024;
const LINES = 20_000;

const script = `
  const { createLogger, LineBatchDestination } = await import(${JSON.stringify(new URL('../../src/log.ts', import.meta.url).href)});
  process.stdout; // Node makes a pipe or socket non-blocking once it wraps it in a stream.
  const destination = new LineBatchDestination(1, ${LIMIT});
  const logger = createLogger({ destination });
  let most = 0;
  for (let i = 0; i < ${LINES}; i++) {
    logger.info({ i, pad: 'x'.repeat(200) }, 'line');
    if (i % 100 === 99) {
      await new Promise((resolve) => setImmediate(resolve));
      most = Math.max(most, destination.backlog.queuedBytes);
    }
  }
  const { dropped } = destination.backlog;
  process.stderr.write(JSON.stringify({ most, dropped }) + '\\n');
  // Wait for the reader, then for the report of the dropped lines.
  while (destination.backlog.queuedBytes > 0 || destination.backlog.dropped > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  logger.info('end');
`;

test('a reader that falls behind: queued lines stay under the bound, the rest are dropped, counted and reported', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // Nobody reads standard output until the child has logged everything.
  const deadline = Date.now() + 30_000;
  while (!stderr.includes('"most"')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the child did not finish logging: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  t.is(await exited, 0, stderr);

  const { most, dropped } = JSON.parse(stderr.split('\n').find((l) => l.includes('"most"'))!) as { most: number; dropped: number };
  t.log({ most, dropped });
  t.true(most > 0, 'the reader did fall behind');
  t.true(most <= LIMIT, `${most} bytes queued, over the bound of ${LIMIT}`);
  t.true(dropped > 0, 'lines beyond the bound are dropped');

  t.true(stdout.endsWith('\n'));
  const lines = stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  const numbered = lines.filter((l) => l.msg === 'line').map((l) => l.i as number);
  for (let k = 1; k < numbered.length; k++) t.true(numbered[k]! > numbered[k - 1]!, 'in order, none twice');
  t.is(numbered.length + dropped, LINES, 'every line is either written or counted as dropped');
  const report = lines.find((l) => l.msg === 'log lines dropped: standard output did not take them in time');
  t.is(report?.level, 'warn');
  t.is(report?.dropped_lines, dropped);
  t.is(lines.at(-1)?.msg, 'end');
});
