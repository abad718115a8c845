import test from 'ava';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineBatchDestination } from '../../src/log.js';

/** The destination the server writes its log with: lines batched per event-loop turn. */

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('lines of many turns, long lines and lines outside ASCII come out whole, in order, byte for byte', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'open-login-log-'));
  const file = join(dir, 'log');
  const fd = openSync(file, 'w');
  try {
    const destination = new LineBatchDestination(fd);
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const text = i % 7 === 0 ? 'é€𝄞'.repeat(i % 300) : i % 500 === 1 ? 'x'.repeat(9000) : `line ${i}`;
      lines.push(`${JSON.stringify({ i, text })}\n`);
      destination.write(lines.at(-1)!);
      if (i % 40 === 39) await turn();
    }
    await turn();
    t.is(readFileSync(file, 'utf8'), lines.join(''));
    t.deepEqual(destination.backlog, { dropped: 0, queuedBytes: 0 });
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flushSync writes the lines of the current turn at once', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'open-login-log-'));
  const file = join(dir, 'log');
  const fd = openSync(file, 'w');
  try {
    const destination = new LineBatchDestination(fd);
    destination.write('{"a":1}\n');
    destination.write('{"b":2}\n');
    t.is(readFileSync(file, 'utf8'), '', 'held until the turn ends');
    destination.flushSync();
    t.is(readFileSync(file, 'utf8'), '{"a":1}\n{"b":2}\n');
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A process that logs `count` numbered lines through the server's logger, a few dozen per turn. */
const writer = (id: string, count: number) => `
  const { createLogger } = await import(${JSON.stringify(new URL('../../src/log.ts', import.meta.url).href)});
  const logger = createLogger();
  for (let i = 0; i < ${count}; i++) {
    logger.info({ w: '${id}', i, pad: 'y'.repeat(150 + (i % 200)) }, 'line');
    if (i % 37 === 36) await new Promise((resolve) => setImmediate(resolve));
  }
`;

test('processes sharing one pipe, as cluster workers share standard output, never cut each other’s lines', async (t) => {
  // About 1.7 MB per writer: far beyond the pipe's 64 KiB, so writers wait on
  // it, and within the destination's queue bound (4 MiB), past which lines are
  // dropped and counted by design (tested in log-backpressure.test.ts).
  const count = 5_000;
  const node = (id: string) => `"$NODE" --import tsx --input-type=module --eval "$WRITER_${id}"`;
  // Both write to one pipe whose reader starts late, so that it is full and writers wait on it.
  const child = spawn('sh', ['-c', `( ${node('a')} & ${node('b')} & wait ) | ( sleep 1; cat )`], {
    env: { ...process.env, NODE: process.execPath, WRITER_a: writer('a', count), WRITER_b: writer('b', count) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(code, 0, stderr);
  const seen: Record<string, number[]> = { a: [], b: [] };
  let cut = 0;
  for (const line of stdout.split('\n').filter(Boolean)) {
    try {
      const parsed = JSON.parse(line) as { w: string; i: number };
      seen[parsed.w]!.push(parsed.i);
    } catch {
      cut++;
    }
  }
  t.is(cut, 0, 'lines cut by the other process');
  const all = Array.from({ length: count }, (_, i) => i);
  t.deepEqual(seen.a, all);
  t.deepEqual(seen.b, all);
});
