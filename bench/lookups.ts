import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { silentLogger } from '../src/log.js';
import { MongoStore, type LookupMode } from '../src/store/mongo.js';
import type { Grant } from '../src/store/types.js';

/**
 * `npm run bench:lookups`: grant lookups by id through the MongoDB store, 50
 * at a time, one by one (`single`, the baseline) and gathered into `$in`
 * queries (`batched`), on the same server in the same run. Prints lookups/s
 * and this process's CPU per lookup (the driver's share), and the ratios.
 *
 * Uses MONGODB_URI (or MONGODB_TEST_URI). Flags: --grants=N in the
 * collection (default 100; FerretDB 1.x reads the whole collection for each
 * `$in`, so there batching only pays on small collections), --lookups=N per
 * round (default 3000), --rounds=N (default 2).
 */

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const GRANTS = Number(arg('grants') ?? 100);
const LOOKUPS = Number(arg('lookups') ?? 3000);
const ROUNDS = Number(arg('rounds') ?? 2);
const CONCURRENCY = 50;
const uri = process.env.MONGODB_URI || process.env.MONGODB_TEST_URI;
if (!uri) {
  console.error('bench:lookups needs MONGODB_URI (for example `eval "$(bash .ci/ferretdb.sh start)"` first)');
  process.exit(2);
}
const dbName = `bench_lookups_${randomBytes(4).toString('hex')}`;

async function round(mode: LookupMode): Promise<{ perSecond: number; cpuUs: number }> {
  const store = new MongoStore({ uri: uri!, dbName, logger: silentLogger(), lookups: mode, timeoutMs: 10_000 });
  await store.init();
  let next = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < LOOKUPS) {
        const id = `g${next++ % GRANTS}`;
        if ((await store.grants.findById(id)) === null) throw new Error(`grant ${id} not found`);
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  return { perSecond: LOOKUPS / seconds, cpuUs: (used.user + used.system) / LOOKUPS };
}

const seeder = new MongoStore({ uri, dbName, logger: silentLogger(), timeoutMs: 10_000 });
await seeder.init();
const now = Date.now();
for (let i = 0; i < GRANTS; i++) {
  const grant: Grant = {
    id: `g${i}`, customerId: `c${i}`, siteId: 'site-a', clientId: 'open-login', format: 'jwt', tokenHash: null,
    issuedAt: new Date(now), expiresAt: new Date(now + 3_600_000), revokedAt: null,
  };
  await seeder.grants.insert(grant);
}
await seeder.close();

const results: Record<LookupMode, Array<{ perSecond: number; cpuUs: number }>> = { single: [], batched: [] };
try {
  for (let r = 0; r < ROUNDS; r++) for (const mode of ['single', 'batched'] as const) results[mode].push(await round(mode));
} finally {
  const client = new MongoClient(uri);
  await client.db(dbName).dropDatabase().finally(() => client.close());
}
const best = (mode: LookupMode) => ({
  perSecond: Math.max(...results[mode].map((r) => r.perSecond)),
  cpuUs: Math.min(...results[mode].map((r) => r.cpuUs)),
});
const single = best('single');
console.log(`| lookups | lookups/s (best of ${ROUNDS}) | CPU µs/lookup, this process | x single (rate) | x single (CPU) |`);
console.log('|---|---|---|---|---|');
for (const mode of ['single', 'batched'] as const) {
  const b = best(mode);
  console.log(`| ${mode} | ${b.perSecond.toFixed(0)} | ${b.cpuUs.toFixed(0)} | ${(b.perSecond / single.perSecond).toFixed(2)} | ${(b.cpuUs / single.cpuUs).toFixed(2)} |`);
}
console.log(`\n${GRANTS} grants, ${LOOKUPS} lookups per round, ${CONCURRENCY} at a time; Node ${process.version}.`);
