import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { ExpiringLru } from '../src/lib/lru.js';
import { systemClock } from '../src/core/clock.js';
import { MemoryWindowCounter, RateLimits, type WindowCounter } from '../src/http/rate-limit.js';
import { silentLogger } from '../src/log.js';
import { FlexibleWindowCounter } from './flexible-counter.js';
import { MapExpiringLru } from './map-expiring-lru.js';

/**
 * `npm run bench:micro`: ns and bytes allocated per call of the rate limits
 * (`attempt` + `charge`, as every authenticated request makes them) and of
 * the expiring LRU, each against the library alternative measured in the
 * same run. Bytes come from a copy of this script run with a young
 * generation large enough that no collection falls inside a span, as in
 * bench/inprocess.ts: they are steady where times are not.
 *
 * Flags: --n=CALLS per round (default 200000), --rounds=N (default 5),
 * --only=SUBSTRING to run only the matching cases.
 */

const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const N = Number(arg('n') ?? 200_000);
const ROUNDS = Number(arg('rounds') ?? 5);
const ONLY = arg('only');

/** One case: `run(i)` is one call; it may return a promise, which is awaited. */
interface Case {
  name: string;
  run: (i: number) => unknown;
}

const limitsWith = (counter: WindowCounter) =>
  new RateLimits({
    config: { rateLimitAuthFailures: 20, rateLimitClientRequests: 1_000_000_000, rateLimitWindowSeconds: 60 },
    clock: systemClock,
    logger: silentLogger(),
    counter,
  });

const CLIENTS = 10;
const ok = () => Promise.resolve('client');

/** An authenticated request's rate-limit work: the attempt gate around verification, then the client's budget. */
function request(limits: RateLimits): (i: number) => Promise<unknown> {
  return async (i) => {
    const client = await limits.attempt('203.0.113.5', 'r', ok);
    return limits.charge(`${client}${i % CLIENTS}`, '203.0.113.5', 'r');
  };
}

function rateLimitCases(): Case[] {
  const ours = new MemoryWindowCounter();
  const flexible = new FlexibleWindowCounter();
  const now = Date.now();
  return [
    { name: 'rate limits: attempt + charge, MemoryWindowCounter (ours)', run: request(limitsWith(new MemoryWindowCounter())) },
    { name: 'rate limits: attempt + charge, RateLimiterMemory', run: request(limitsWith(new FlexibleWindowCounter())) },
    { name: 'counter: hit, MemoryWindowCounter (ours)', run: (i) => ours.hit(`client:c${i % CLIENTS}`, 60_000, now) },
    { name: 'counter: hit, RateLimiterMemory.consume', run: (i) => flexible.hit(`client:c${i % CLIENTS}`, 60_000, now) },
  ];
}

interface Lru {
  get(key: string, nowMs: number): unknown;
  set(key: string, value: object, expiresAtMs: number): void;
}

const KEYS = 10_000;
const keys = Array.from({ length: 4 * KEYS }, (_, i) => `key-${i.toString(36)}-${'x'.repeat(20)}`);
const value = { id: 'g1', customerId: 'c1' };

function lruCases(): Case[] {
  const variants: Array<[string, (max: number) => Lru]> = [
    ['ExpiringLru on lru-cache (src/lib/lru.ts)', (max) => new ExpiringLru<string, object>(max)],
    ['the former ExpiringLru on a Map', (max) => new MapExpiringLru<string, object>(max)],
  ];
  const cases: Case[] = [];
  const now = Date.now();
  for (const [name, make] of variants) {
    // Hits on a warm cache of KEYS entries (the hot path: grant, customer, client and verified-token lookups).
    const warm = make(100_000);
    for (let i = 0; i < KEYS; i++) warm.set(keys[i]!, value, now + 600_000);
    cases.push({ name: `lru get hit, ${name}`, run: (i) => warm.get(keys[i % KEYS]!, now) });
    // Misses, then fills of a full cache (every fill evicts).
    const full = make(KEYS);
    cases.push({
      name: `lru miss + set (evicting), ${name}`,
      run: (i) => {
        const key = keys[i % keys.length]!;
        if (full.get(key, now) === undefined) full.set(key, value, now + 600_000);
      },
    });
  }
  return cases;
}

const all = [...rateLimitCases(), ...lruCases()].filter((c) => ONLY === undefined || c.name.includes(ONLY));

async function loop(c: Case, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = c.run(i);
    if (r instanceof Promise) await r;
  }
}

async function nsPerCall(c: Case, n: number): Promise<number> {
  const started = process.hrtime.bigint();
  await loop(c, n);
  return Number(process.hrtime.bigint() - started) / n;
}

async function bytesPerCall(c: Case, n: number): Promise<number> {
  const before = getHeapStatistics().used_heap_size;
  await loop(c, n);
  const grown = getHeapStatistics().used_heap_size - before;
  return grown > 0 ? grown / n : Number.NaN;
}

if (process.argv.includes('--allocations-only')) {
  const out: Record<string, number> = {};
  for (const c of all) {
    // An empty young generation for each case, so that no collection falls inside the span; before
    // the warm-up, since the re-warming after a collection would count in the span.
    (globalThis as { gc?: () => void }).gc?.();
    await loop(c, 20_000);
    out[c.name] = await bytesPerCall(c, 20_000);
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}

const results = new Map<string, number[]>(all.map((c) => [c.name, []]));
for (const c of all) await loop(c, N / 5);
for (let round = 0; round < ROUNDS; round++) for (const c of all) results.get(c.name)!.push(await nsPerCall(c, N));
const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--min-semi-space-size=256', '--max-semi-space-size=256', fileURLToPath(import.meta.url), '--allocations-only', ...process.argv.slice(2)]);
const bytes = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number | null>;
console.log(`| case | ns/call, fastest of ${ROUNDS} | median | bytes allocated/call |`);
console.log('|---|---|---|---|');
for (const [name, xs] of results) {
  const sorted = [...xs].sort((a, b) => a - b);
  const b = bytes[name];
  console.log(`| ${name} | ${sorted[0]!.toFixed(0)} | ${sorted[Math.floor(xs.length / 2)]!.toFixed(0)} | ${b === null || b === undefined || Number.isNaN(b) ? '-' : Math.round(b)} |`);
}
console.log(`\nNode ${process.version}, ${N} calls per round.`);
