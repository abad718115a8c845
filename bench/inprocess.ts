import { execFile } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { getHeapStatistics } from 'node:v8';
import { loadConfig } from '../src/config/index.js';
import { createLogger, LineBatchDestination } from '../src/log.js';
import { embeddedBenchApp } from './embedded-app.js';
import { FlexibleWindowCounter } from './flexible-counter.js';

/**
 * `npm run bench:inprocess`: the CPU cost of this server's own part of an
 * introspection request, without sockets or the HTTP parser. It drives the
 * app's request listener, wired as the server wires it (config, caches,
 * access log to /dev/null), with minimal request and response objects, and
 * prints µs per request for each case against a baseline measured in the
 * same run: a listener that reads the body and answers a fixed JSON.
 *
 * The loaded-server bench (`npm run bench`) moves ±20 % between runs on a
 * shared machine; this one moves a few per cent, so it is the tool for
 * deciding whether a change to the hot path pays.
 *
 * Flags: --n=REQUESTS per round (default 50000), --rounds=N (default 5),
 * --rate-limit-counter=flexible (count rate limits with rate-limiter-flexible's
 * RateLimiterMemory instead of the server's own counter), --alloc-n=REQUESTS
 * for the allocation figures (default 2000, after 2000 to warm up; up to
 * about 8000 fits the young generation; more steadies the figures, which
 * late JIT compilation inside a short span moves by a few hundred bytes),
 * --heap-profile (also write a sampled allocation profile of the hot cases
 * to bench/results/, to see which code allocates what), --server-log (the
 * access log goes through the destination the server writes standard output
 * with, opened on /dev/null, instead of a stream that discards it: to count
 * the cost of writing the lines too).
 */

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const N = Number(arg('n') ?? 50_000);
const ROUNDS = Number(arg('rounds') ?? 5);
const ALLOC_N = Number(arg('alloc-n') ?? 2000);

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** One request: headers and a body, as node:http hands them to a listener. */
function request(headers: Record<string, string>, body: string): IncomingMessage {
  const req = new Readable({ read() {} }) as unknown as IncomingMessage & Readable;
  Object.assign(req, {
    method: 'POST',
    url: '/introspect',
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    socket: { remoteAddress: '127.0.0.1' },
  });
  req.push(body);
  req.push(null);
  return req;
}

/** A response that records its status and body and resolves when ended. */
function response(done: (status: number, body: string) => void): ServerResponse {
  let status = 0;
  const res = {
    headersSent: false,
    writeHead(code: number) {
      status = code;
      res.headersSent = true;
      return res;
    },
    end(body: string) {
      done(status, body);
      return res;
    },
    destroy() {},
  };
  return res as unknown as ServerResponse;
}

function call(listener: Listener, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => listener(request(headers, body), response((status, text) => resolve({ status, body: text }))));
}

/** µs per request over `n` sequential requests. */
async function measure(listener: Listener, headers: Record<string, string>, bodies: string[], n: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const { status, body } = await call(listener, headers, bodies[i % bodies.length]!);
    if (status !== 200 || !body.startsWith('{"active":true')) throw new Error(`not an active answer: ${status} ${body.slice(0, 80)}`);
  }
  return Number(process.hrtime.bigint() - started) / n / 1000;
}

/**
 * Bytes allocated per request, from the heap's growth over `n` requests. The
 * script runs with a young generation large enough that no collection falls
 * inside the span (`--min-semi-space-size`), so the figure is steady from run
 * to run where timings are not: a change that allocates less does less.
 */
async function allocatedPerRequest(listener: Listener, headers: Record<string, string>, bodies: string[], n: number): Promise<number> {
  const before = getHeapStatistics().used_heap_size;
  for (let i = 0; i < n; i++) await call(listener, headers, bodies[i % bodies.length]!);
  const grown = getHeapStatistics().used_heap_size - before;
  // A collection inside the span shrinks the heap: no figure rather than a wrong one.
  return grown > 0 ? grown / n : Number.NaN;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// Noise on a shared machine only ever adds time: the fastest round is the steadiest figure.
const fastest = (xs: number[]): number => Math.min(...xs);

process.env.PORT ??= '0';
process.env.ISSUER ??= 'http://127.0.0.1:8080';
process.env.RATE_LIMIT_CLIENT_REQUESTS ??= '100000000';
const config = loadConfig(process.env);
const SERVER_LOG = process.argv.includes('--server-log');
const devNull = SERVER_LOG
  ? new LineBatchDestination(openSync('/dev/null', 'w'))
  : new Writable({ write: (_chunk, _encoding, callback) => callback() });
const logger = createLogger({ level: config.logLevel, destination: devNull });
const COUNTER = arg('rate-limit-counter');
if (COUNTER !== undefined && COUNTER !== 'flexible') throw new Error(`--rate-limit-counter: only "flexible" is known, not ${COUNTER}`);
const { app, seed } = await embeddedBenchApp(config, logger, 10, COUNTER === 'flexible' ? { rateLimitCounter: new FlexibleWindowCounter() } : {});
const listener = app.callback();

/** The baseline: read the body, answer a fixed JSON, nothing else. */
const fixed: Listener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"active":true}');
  });
};

const headers = {
  authorization: `Basic ${Buffer.from(`${seed.tokens.clientId}:${seed.tokens.secret}`).toString('base64')}`,
  'content-type': 'application/x-www-form-urlencoded',
  host: '127.0.0.1',
};
const bodies = (set: 'jwt' | 'opaque') => seed.tokens.sets[set]!.map((t) => `token=${encodeURIComponent(t)}`);
const first = await call(listener, headers, bodies('jwt')[0]!);
if (!first.body.includes('"active":true')) throw new Error(`not active: ${first.body}`);

const cases: Array<[string, Listener, string[]]> = [
  ['baseline: body read, fixed answer', fixed, bodies('jwt')],
  ['introspect, JWT, hot', listener, bodies('jwt')],
  ['introspect, opaque, hot', listener, bodies('opaque')],
];
const HEAP_PROFILE = process.argv.includes('--heap-profile');
if (process.argv.includes('--allocations-only')) {
  const out: Record<string, number> = {};
  for (const [name, l, b] of cases) {
    // An empty young generation for each case (the child runs with --expose-gc); a collection
    // just before the span would put the re-warming after it (about 600 B/request) into it.
    (globalThis as { gc?: () => void }).gc?.();
    await measure(l, headers, b, 2000);
    out[name] = await allocatedPerRequest(l, headers, b, ALLOC_N);
  }
  if (HEAP_PROFILE) await writeHeapProfile(cases.slice(1));
  console.log(JSON.stringify(out));
  process.exit(0);
}

/**
 * Where the bytes go: V8's sampling heap profile of the given cases, counting
 * objects the collector has already freed too, written for Chrome DevTools
 * (Memory tab, "Load profile").
 */
async function writeHeapProfile(profiled: typeof cases): Promise<void> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  for (const [, l, b] of profiled) await measure(l, headers, b, 5000);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `inprocess-${new Date().toISOString().replace(/[:.]/g, '-')}.heapprofile`);
  writeFileSync(file, JSON.stringify(profile));
  console.error(`heap profile: ${file}`);
}

/** The allocation figures, from a copy of this script run with a young generation that holds them. */
async function allocationsInChild(): Promise<Map<string, number>> {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [
      '--expose-gc',
      '--min-semi-space-size=256',
      '--max-semi-space-size=256',
      fileURLToPath(import.meta.url),
      '--allocations-only',
      `--alloc-n=${ALLOC_N}`,
      ...(HEAP_PROFILE ? ['--heap-profile'] : []),
      ...(COUNTER ? [`--rate-limit-counter=${COUNTER}`] : []),
      ...(SERVER_LOG ? ['--server-log'] : []),
    ],
    { env: process.env },
  );
  if (stderr) process.stderr.write(stderr);
  const figures = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number | null>;
  return new Map(Object.entries(figures).map(([name, bytes]) => [name, bytes ?? Number.NaN]));
}

const results = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (const [, l, b] of cases) await measure(l, headers, b, N / 5); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, l, b] of cases) results.get(name)!.push(await measure(l, headers, b, N));
}
const allocated = await allocationsInChild();
const base = fastest(results.get(cases[0]![0])!);
console.log(`| case | µs/request, fastest of ${ROUNDS} | median | over baseline (fastest) | bytes allocated/request | rounds |`);
console.log('|---|---|---|---|---|---|');
for (const [name, xs] of results) {
  const bytes = allocated.get(name)!;
  console.log(
    `| ${name} | ${fastest(xs).toFixed(1)} | ${median(xs).toFixed(1)} | ${(fastest(xs) - base).toFixed(1)} | ${Number.isNaN(bytes) ? '-' : Math.round(bytes)} | ${xs.map((x) => x.toFixed(1)).join(' ')} |`,
  );
}
console.log(
  `\nNode ${process.version}, ${N} requests per round; access log ${config.logRequests}${SERVER_LOG ? ', written to /dev/null' : ''}; rate-limit counter ${COUNTER ?? 'ours'}.`,
);
