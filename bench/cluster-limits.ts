import cluster from 'node:cluster';
import { getHeapStatistics } from 'node:v8';
import { RateLimiterCluster, RateLimiterClusterMaster } from 'rate-limiter-flexible';
import { systemClock } from '../src/core/clock.js';
import { ClusterWindowCounter, relayRateLimits } from '../src/http/rate-limit-cluster.js';
import { RateLimits, type WindowCounter } from '../src/http/rate-limit.js';
import { silentLogger } from '../src/log.js';
import { collectionsNow, collectionsSettled } from './collections.js';
import { FlexibleWindowCounter } from './flexible-counter.js';

/**
 * `npm run bench:cluster-limits`: the rate limits in a real node:cluster of
 * two workers sharing one budget, with the server's counter
 * (rate-limit-cluster.ts: local counts, sent to the primary every few ms)
 * and with rate-limiter-flexible's RateLimiterCluster (every call a request
 * to the primary and its answer). Both workers run `attempt` + `charge`
 * (what every authenticated request does) at once, one call after another;
 * printed: µs and bytes allocated per call in each worker, CPU the primary
 * spent, and the count both workers see at the end (it must be the total).
 *
 * Flags: --n=CALLS per worker (default 10000: RateLimiterCluster allocates
 * about 15 KB a call, and a longer span would not fit the young generation),
 * --counter=ours|flexible|both (default both).
 */

const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const N = Number(arg('n') ?? 10_000);
const WINDOW_S = 86_400;

interface Report {
  counter: string;
  worker: number;
  usPerCall: number;
  bytesPerCall: number;
  finalCount: number;
}

/** The primary's next word to this worker, among the rate-limit messages on the same channel. */
const told = (word: string) =>
  new Promise<void>((resolve) => {
    const listener = (m: unknown) => {
      if ((m as { bench?: string } | null)?.bench !== word) return;
      process.off('message', listener);
      resolve();
    };
    process.on('message', listener);
  });

async function runWorker(kind: string): Promise<void> {
  const counter: WindowCounter =
    kind === 'ours'
      ? new ClusterWindowCounter()
      : new FlexibleWindowCounter((duration) => new RateLimiterCluster({ points: Number.MAX_SAFE_INTEGER, duration, keyPrefix: `bench${duration}`, timeoutMs: 10_000 }));
  const limits = new RateLimits({
    config: { rateLimitAuthFailures: 20, rateLimitClientRequests: 1_000_000_000, rateLimitWindowSeconds: WINDOW_S },
    clock: systemClock,
    logger: silentLogger(),
    counter,
  });
  const ok = () => Promise.resolve('client');
  const call = async (key: string) => {
    const client = await limits.attempt('203.0.113.5', 'r', ok);
    return limits.charge(`${client}-${key}`, '203.0.113.5', 'r');
  };
  // Warm-up (and, for RateLimiterCluster, its start-up exchange with the primary) on a key of its own.
  // Collected before the warm-up, not just before the span: the re-warming after a collection would count in it.
  (globalThis as { gc?: () => void }).gc?.();
  for (let i = 0; i < 2000; i++) await call(`warm${cluster.worker!.id}`);
  const go = told('go');
  process.send!({ ready: true });
  await go;
  const collected = collectionsNow();
  const heapBefore = getHeapStatistics().used_heap_size;
  const started = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await call('shared');
  const elapsed = Number(process.hrtime.bigint() - started);
  const grown = getHeapStatistics().used_heap_size - heapBefore;
  // A collection inside the span shrinks the heap: no figure rather than a wrong one.
  const clean = (await collectionsSettled()) === collected;
  const report = told('report');
  process.send!({ done: true });
  await report;
  await new Promise((resolve) => setTimeout(resolve, 100));
  const seen = await counter.peek('client:client-shared', WINDOW_S * 1000, Date.now());
  const result: Report = { counter: kind, worker: cluster.worker!.id, usPerCall: elapsed / N / 1000, bytesPerCall: grown > 0 && clean ? grown / N : Number.NaN, finalCount: seen.count };
  process.send!({ report: result });
  setTimeout(() => process.exit(0), 50);
}

async function runPrimary(kind: string): Promise<Report[]> {
  cluster.setupPrimary({ execArgv: ['--expose-gc', '--min-semi-space-size=256', '--max-semi-space-size=256'], args: [`--worker-counter=${kind}`, `--n=${N}`] });
  const workers = [cluster.fork(), cluster.fork()];
  const reports: Report[] = [];
  let ready = 0;
  let done = 0;
  let cpuBefore = process.cpuUsage();
  let cpu = 0;
  await new Promise<void>((resolve) => {
    for (const w of workers) {
      w.on('message', (m: { ready?: boolean; done?: boolean; report?: Report }) => {
        if (m.ready && ++ready === workers.length) {
          cpuBefore = process.cpuUsage();
          for (const x of workers) x.send({ bench: 'go' });
        }
        if (m.done && ++done === workers.length) {
          const used = process.cpuUsage(cpuBefore);
          cpu = (used.user + used.system) / 1000;
          for (const x of workers) x.send({ bench: 'report' });
        }
        if (m.report && reports.push(m.report) === workers.length) resolve();
      });
    }
  });
  await Promise.all(workers.map((w) => (w.isDead() ? null : new Promise((resolve) => w.once('exit', resolve)))));
  console.log(`primary CPU during the run (${kind}): ${cpu.toFixed(0)} ms for ${2 * N} calls, ${((cpu * 1000) / (2 * N)).toFixed(1)} µs/call`);
  return reports;
}

if (cluster.isWorker) {
  await runWorker(arg('worker-counter')!);
} else {
  relayRateLimits(cluster);
  new RateLimiterClusterMaster();
  const which = arg('counter') ?? 'both';
  const reports: Report[] = [];
  for (const kind of which === 'both' ? ['ours', 'flexible'] : [which]) reports.push(...(await runPrimary(kind)));
  console.log('| counter | worker | µs/call | bytes allocated/call | count seen at the end |');
  console.log('|---|---|---|---|---|');
  for (const r of reports) console.log(`| ${r.counter} | ${r.worker} | ${r.usPerCall.toFixed(1)} | ${Number.isNaN(r.bytesPerCall) ? '-' : Math.round(r.bytesPerCall)} | ${r.finalCount} (of ${2 * N}) |`);
  console.log(`\nNode ${process.version}, ${N} calls per worker, 2 workers.`);
}
