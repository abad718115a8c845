/**
 * `npm run bench [-- --quick] [-- --only=bare,koa,oidc,embedded,quiet,nocache,mongo,mongo-workers] [-- --n=100000] [-- --cpu-prof] [-- --soak=600]`
 *
 * Starts each server on loopback, one after the other, and drives it with
 * the same load generator (bench/load.ts in its own process: wrk with
 * bench/wrk.lua when installed, else autocannon; BENCH_LOADER=wrk|autocannon
 * chooses): warm-up, then several rounds of fixed duration and connections;
 * the table shows medians.
 * Servers are pinned to CPU 0 and the load generator to CPU 1 (taskset) so
 * that each has one core; the cluster rows use both cores for the server.
 *
 * Rows: (a) bare node:http with a fixed answer: the ceiling; (b) Koa with
 * the same body parsing: the framework floor; (c) oidc-provider's
 * introspection of its opaque tokens: the peer; (d) this server on the
 * embedded store and (e) on MongoDB (FerretDB when no MongoDB is given), for
 * JWT and opaque tokens, a hot set (10 tokens) and a large distinct set.
 * `--soak=SECONDS` adds a long run of the embedded store for memory (RSS each
 * minute); `--only=soak --soak=600` runs only that.
 * Writes bench/results/<time>.json.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { generateKeyRecord, KeyStore, writeKeyFile } from '../src/keys/keystore.js';
import { clientToDocument, customerToDocument, grantToDocument, MongoStore } from '../src/store/mongo.js';
import { silentLogger } from '../src/log.js';
import { chooseLoader, type LoadRequest, type LoadResult } from './load.js';
import { makeSeed } from './seed.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const value = (name: string) => flag(name)?.split('=')[1];
const quick = flag('quick') !== undefined;
const soakSeconds = Number(value('soak') ?? 0);

const settings = {
  connections: Number(value('connections') ?? 50),
  durationSeconds: Number(value('duration') ?? (quick ? 3 : 10)),
  warmupSeconds: quick ? 1 : 4,
  rounds: Number(value('rounds') ?? (quick ? 2 : 3)),
  hotTokens: 10,
  distinctTokens: Number(value('n') ?? (quick ? 5000 : 100_000)),
};
// --quick leaves out the rows that only repeat a point (caches off, two workers) unless named.
const only = value('only')?.split(',') ?? (quick ? ['bare', 'koa', 'oidc', 'embedded', 'mongo'] : null);
const want = (group: string) => only === null || only.includes(group);
const canPin = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return cpus().length >= 2;
  } catch {
    return false;
  }
})();
const loader = chooseLoader();

interface Row {
  name: string;
  group: string;
  token: string;
  set: string;
  rps: number;
  p50: number;
  p99: number;
  rounds: Array<{ rps: number; p50: number; p99: number; cpuUsPerRequest: number }>;
  /** Server CPU time per request: steady when the machine is shared, unlike req/s. */
  cpuUsPerRequest: number;
  coldRps?: number;
  rssStartMb?: number;
  rssEndMb?: number;
  inactive: number;
  errors: number;
  vsBare?: number;
  vsPeer?: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (...parts: unknown[]) => console.error('[bench]', ...parts);

let nextPort = 39_200 + Math.floor(Math.random() * 500);

/** RSS of a process and its children (cluster workers), in MB. */
function rssMb(pid: number): number {
  let total = 0;
  const visit = (p: number) => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      const children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      for (const c of children ? children.split(/\s+/) : []) visit(Number(c));
    } catch {
      // gone
    }
  };
  visit(pid);
  return Math.round(total);
}

/** CPU time (user + system) of a process and its children so far, in microseconds. */
function cpuMicros(pid: number): number {
  const tick = 1e6 / 100; // USER_HZ is 100 on Linux
  let total = 0;
  const visit = (p: number) => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * tick;
      const children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      for (const c of children ? children.split(/\s+/) : []) visit(Number(c));
    } catch {
      // gone
    }
  };
  visit(pid);
  return total;
}

/**
 * Servers and the load generator run as compiled JavaScript, as in
 * production: a TypeScript loader's per-call helpers would be measured too.
 */
function compiled(script: string): string {
  return join(root, 'dist', script.replace(/\.ts$/, '.js'));
}

function buildForBench(): void {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.bench.json')], { cwd: root, stdio: 'inherit' });
}

interface Started {
  url: string;
  child: ChildProcess;
  tokensFile: string;
  stop(): Promise<void>;
}

async function startServer(options: { script: string; env: Record<string, string>; pin: boolean; tokensFile: string; readyPath: string; port: number }): Promise<Started> {
  // --cpu-prof: each server writes a V8 CPU profile on exit (open it in Chrome DevTools).
  const profile = flag('cpu-prof') !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${join(root, 'bench/results/profiles')}`] : [];
  const nodeArgs = [...profile, compiled(options.script)];
  const [cmd, cmdArgs] = options.pin && canPin ? ['taskset', ['-c', '0', process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const child = spawn(cmd, cmdArgs as string[], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', ...options.env, PORT: String(options.port) },
    // Request logs go where production sends them (stdout), here to /dev/null.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 300_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${options.script} exited (${child.exitCode}): ${stderr}`);
      if (Date.now() > deadline) throw new Error(`${options.script} did not start`);
      if (existsSync(options.tokensFile)) {
        const status = await fetch(url + options.readyPath).then((r) => r.status, () => 0);
        if (status === 500) throw new Error(`${options.script}: ${options.readyPath} answered 500: ${stderr}`);
        if (status > 0 && status < 500) break;
      }
      await sleep(200);
    }
  } catch (error) {
    // Never leave a half-started server behind (SIGTERM: a cluster primary takes its workers down).
    if (child.exitCode === null) child.kill('SIGTERM');
    throw error;
  }
  return {
    url,
    child,
    tokensFile: options.tokensFile,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(12_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

function runLoad(request: LoadRequest): Promise<LoadResult> {
  const nodeArgs = [compiled('bench/load.ts'), JSON.stringify(request)];
  const [cmd, cmdArgs] = canPin ? ['taskset', ['-c', '1', process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs as string[], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`load generator exited with ${code}`);
        resolve(JSON.parse(out.trim().split('\n').pop()!));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** Warm-up, then rounds; medians. The warm-up of a distinct set is its cold (first sight) rate. */
async function measure(server: Started, row: { name: string; group: string; token: 'jwt' | 'opaque'; set: 'hot' | 'distinct' }): Promise<Row> {
  const tokens = row.set === 'hot' ? settings.hotTokens : 0;
  const base = { loader, url: server.url, tokensFile: server.tokensFile, set: row.token, tokens, connections: settings.connections };
  const warm = await runLoad({ ...base, durationSeconds: settings.warmupSeconds, offset: 0 });
  const rounds: Row['rounds'] = [];
  let inactive = warm.inactive;
  let errors = warm.errors + warm.timeouts;
  let offset = warm.rps * settings.warmupSeconds;
  for (let i = 0; i < settings.rounds; i++) {
    const cpuBefore = cpuMicros(server.child.pid!);
    const r = await runLoad({ ...base, durationSeconds: settings.durationSeconds, offset: Math.round(offset) });
    const cpuUsPerRequest = Math.round((cpuMicros(server.child.pid!) - cpuBefore) / Math.max(1, r.requests));
    offset += r.rps * settings.durationSeconds;
    rounds.push({ rps: Math.round(r.rps), p50: r.p50, p99: r.p99, cpuUsPerRequest });
    inactive += r.inactive;
    errors += r.errors + r.timeouts;
    if (r.firstInactive) log(`  ${row.name}: not active: ${r.firstInactive}`);
  }
  const result: Row = {
    ...row,
    rps: Math.round(median(rounds.map((r) => r.rps))),
    // An even number of rounds averages the middle two: keep the printed precision.
    p50: Math.round(median(rounds.map((r) => r.p50)) * 100) / 100,
    p99: Math.round(median(rounds.map((r) => r.p99)) * 100) / 100,
    cpuUsPerRequest: Math.round(median(rounds.map((r) => r.cpuUsPerRequest))),
    rounds,
    ...(row.set === 'distinct' ? { coldRps: Math.round(warm.rps) } : {}),
    inactive,
    errors,
  };
  log(`  ${row.name} ${row.token} ${row.set}: ${result.rps} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${result.cpuUsPerRequest} µs CPU/req${inactive ? `, ${inactive} NOT ACTIVE` : ''}`);
  return result;
}

/** Runs the rows of one server, recording its RSS before the first and after the last. */
async function withServer(server: Started, rows: Array<Parameters<typeof measure>[1]>): Promise<Row[]> {
  const pid = server.child.pid!;
  const start = rssMb(pid);
  const out: Row[] = [];
  try {
    for (const row of rows) out.push(await measure(server, row));
  } finally {
    const end = rssMb(pid);
    for (const r of out) Object.assign(r, { rssStartMb: start, rssEndMb: end });
    await server.stop();
  }
  return out;
}

const ourEnv = (port: number) => ({
  ISSUER: `http://127.0.0.1:${port}`,
  LOG_LEVEL: 'info',
  // The per-client limit stays on, so its counting is measured; high enough never to refuse the load.
  RATE_LIMIT_CLIENT_REQUESTS: '100000000',
});

async function mongoUri(): Promise<{ uri: string; stop: () => void }> {
  const given = process.env.MONGODB_URI || process.env.MONGODB_TEST_URI;
  if (given) return { uri: given, stop: () => undefined };
  const port = String(value('ferretdb-port') ?? 27_099);
  const env = { ...process.env, FERRETDB_PORT: port, FERRETDB_PID_FILE: join(tmpdir(), `bench-ferretdb-${port}.pid`) };
  log(`no MONGODB_URI: starting FerretDB on ${port}`);
  execFileSync('bash', [join(root, '.ci/ferretdb.sh'), 'start'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return { uri: `mongodb://127.0.0.1:${port}/`, stop: () => execFileSync('bash', [join(root, '.ci/ferretdb.sh'), 'stop'], { env, stdio: 'ignore' }) };
}

/**
 * `--soak=SECONDS`: the embedded-store server under the distinct JWT set for
 * that long, in one-minute stretches, with its RSS after each: memory must
 * level off once the caches are full (they are bounded), not keep growing.
 */
interface Soak {
  seconds: number;
  rssMb: number[];
  rps: number[];
  bad: number;
}

async function runSoak(server: Started): Promise<Soak> {
  const stretch = Math.min(60, soakSeconds);
  const result: Soak = { seconds: 0, rssMb: [rssMb(server.child.pid!)], rps: [], bad: 0 };
  let offset = 0;
  log(`soak: ${soakSeconds} s of the distinct JWT set, RSS ${result.rssMb[0]} MB at start`);
  while (result.seconds < soakSeconds) {
    const r = await runLoad({ url: server.url, tokensFile: server.tokensFile, set: 'jwt', tokens: 0, connections: settings.connections, durationSeconds: stretch, offset, loader });
    offset += r.requests;
    result.seconds += stretch;
    result.rps.push(Math.round(r.rps));
    result.rssMb.push(rssMb(server.child.pid!));
    result.bad += r.inactive + r.errors + r.timeouts;
    log(`  soak ${result.seconds} s: ${Math.round(r.rps)} req/s, RSS ${result.rssMb.at(-1)} MB`);
  }
  return result;
}

async function main(): Promise<void> {
  buildForBench();
  const work = mkdtempSync(join(tmpdir(), 'open-login-bench-'));
  const loadStart = loadavg().map((l) => Math.round(l * 100) / 100);
  const rows: Row[] = [];
  let soak: Soak | null = null;
  type Kind = { token: 'jwt' | 'opaque'; set: 'hot' | 'distinct' };
  const hot: Kind[] = [{ token: 'jwt', set: 'hot' }, { token: 'opaque', set: 'hot' }];
  const both: Kind[] = [...hot, { token: 'jwt', set: 'distinct' }, { token: 'opaque', set: 'distinct' }];
  log(`load generator: ${loader}${process.env.BENCH_LOADER ? ' (BENCH_LOADER)' : loader === 'autocannon' ? ' (wrk not on PATH: apt-get install wrk)' : ''}`);
  log(`settings ${JSON.stringify(settings)}, pinned: ${canPin}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  try {
    if (want('bare')) {
      const port = nextPort++;
      const tokensFile = join(work, 'bare.json');
      writeFileSync(tokensFile, JSON.stringify({ clientId: 'x', secret: 'y', path: '/introspect', sets: { opaque: ['olt_fixed'] } }));
      const s = await startServer({ script: 'bench/servers/bare.ts', env: {}, pin: true, tokensFile, readyPath: '/', port });
      rows.push(...(await withServer(s, [{ name: '(a) node:http, fixed answer', group: 'bare', token: 'opaque', set: 'hot' }])));
    }
    if (want('koa')) {
      const port = nextPort++;
      const tokensFile = join(work, 'koa.json');
      writeFileSync(tokensFile, JSON.stringify({ clientId: 'x', secret: 'y', path: '/introspect', sets: { opaque: ['olt_fixed'] } }));
      const s = await startServer({ script: 'bench/servers/koa.ts', env: {}, pin: true, tokensFile, readyPath: '/', port });
      rows.push(...(await withServer(s, [{ name: '(b) Koa + router + body parsing', group: 'koa', token: 'opaque', set: 'hot' }])));
    }
    if (want('oidc')) {
      const port = nextPort++;
      const tokensFile = join(work, 'oidc.json');
      const s = await startServer({ script: 'bench/servers/oidc.ts', env: { BENCH_TOKENS_N: String(settings.distinctTokens), BENCH_TOKENS_FILE: tokensFile }, pin: true, tokensFile, readyPath: '/.well-known/openid-configuration', port });
      rows.push(...(await withServer(s, (['hot', 'distinct'] as const).map((set) => ({ name: '(c) oidc-provider 9', group: 'oidc', token: 'opaque' as const, set })))));
    }
    if (want('embedded')) {
      const port = nextPort++;
      const tokensFile = join(work, 'embedded.json');
      const s = await startServer({ script: 'bench/servers/embedded.ts', env: { ...ourEnv(port), BENCH_TOKENS_N: String(settings.distinctTokens), BENCH_TOKENS_FILE: tokensFile }, pin: true, tokensFile, readyPath: '/healthz', port });
      rows.push(...(await withServer(s, both.map((r) => ({ name: '(d) this server, embedded store', group: 'embedded', ...r })))));
    }
    if (soakSeconds > 0) {
      const port = nextPort++;
      const tokensFile = join(work, 'soak.json');
      const s = await startServer({ script: 'bench/servers/embedded.ts', env: { ...ourEnv(port), BENCH_TOKENS_N: String(settings.distinctTokens), BENCH_TOKENS_FILE: tokensFile }, pin: true, tokensFile, readyPath: '/healthz', port });
      try {
        soak = await runSoak(s);
      } finally {
        await s.stop();
      }
    }
    if (want('quiet')) {
      const port = nextPort++;
      const tokensFile = join(work, 'quiet.json');
      const s = await startServer({ script: 'bench/servers/embedded.ts', env: { ...ourEnv(port), LOG_REQUESTS: 'errors', BENCH_TOKENS_N: String(settings.hotTokens), BENCH_TOKENS_FILE: tokensFile }, pin: true, tokensFile, readyPath: '/healthz', port });
      rows.push(...(await withServer(s, hot.map((r) => ({ name: '(d1) embedded store, LOG_REQUESTS=errors', group: 'quiet', ...r })))));
    }
    if (want('nocache')) {
      const port = nextPort++;
      const tokensFile = join(work, 'nocache.json');
      const s = await startServer({ script: 'bench/servers/embedded.ts', env: { ...ourEnv(port), CACHE_TTL_SECONDS: '0', BENCH_TOKENS_N: String(settings.hotTokens), BENCH_TOKENS_FILE: tokensFile }, pin: true, tokensFile, readyPath: '/healthz', port });
      rows.push(...(await withServer(s, hot.map((r) => ({ name: '(d0) embedded store, caches off', group: 'nocache', ...r })))));
    }
    if (want('mongo') || want('mongo-workers')) {
      const mongo = await mongoUri();
      const dbName = `bench_${process.pid}`;
      try {
        const keysDir = join(work, 'keys');
        mkdirSync(keysDir);
        const record = await generateKeyRecord('ES256', new Date());
        writeKeyFile(keysDir, [record]);
        const keys = await KeyStore.fromRecords([record], { legacyHs256Secret: null, maxTokenTtlSeconds: 2_592_000, clock: { now: () => new Date() } });
        const port = nextPort++;
        const issuer = `http://127.0.0.1:${port}`;
        log(`seeding MongoDB ${dbName}: ${settings.distinctTokens} tokens of each format`);
        const client = new MongoClient(mongo.uri);
        const serverName = typeof (await client.db('admin').command({ buildInfo: 1 })).ferretdbVersion === 'string' ? 'FerretDB' : 'MongoDB';
        // The indexes first, as the server makes them at start (store.init), so the probe below sees them.
        const setup = new MongoStore({ uri: mongo.uri, dbName, logger: silentLogger() });
        await setup.init();
        await setup.close();
        const seed = await makeSeed({ keys, issuer, count: settings.distinctTokens, formats: ['jwt'] });
        const opaque = await makeSeed({ keys, issuer, count: settings.distinctTokens, formats: ['opaque'] });
        const [hotOpaque, restOpaque] = [opaque.grants.slice(0, settings.hotTokens), opaque.grants.slice(settings.hotTokens)];
        seed.tokens.sets.opaque = opaque.tokens.sets.opaque;
        let indexedTokenHash = true;
        try {
          const db = client.db(dbName);
          const insert = async (grants: typeof seed.grants) => {
            for (let i = 0; i < grants.length; i += 2000) {
              await db.collection('grants').insertMany(grants.slice(i, i + 2000).map(grantToDocument) as never[], { ordered: false });
            }
          };
          await db.collection('clients').insertOne(clientToDocument(seed.client) as never);
          await db.collection('customers').insertMany(seed.customers.map(customerToDocument) as never[]);
          await insert([...seed.grants, ...hotOpaque]);
          // Some servers (FerretDB 1.24 on SQLite) evaluate a token_hash filter by scanning the
          // collection: a large opaque set would then measure that scan (and its 503s), not this server.
          const started = process.hrtime.bigint();
          for (const g of hotOpaque) await db.collection('grants').findOne({ token_hash: g.tokenHash });
          const probeMs = Number(process.hrtime.bigint() - started) / 1e6 / hotOpaque.length;
          indexedTokenHash = probeMs < 20;
          log(`${serverName}: a token_hash lookup among ${seed.grants.length} grants takes ${probeMs.toFixed(1)} ms${indexedTokenHash ? '' : ': opaque tokens only in the hot set'}`);
          if (indexedTokenHash) await insert(restOpaque);
          else seed.tokens.sets.opaque = opaque.tokens.sets.opaque!.slice(0, settings.hotTokens);
        } finally {
          await client.close();
        }
        // --store-label names the backend in the rows (FerretDB does not tell which one it runs on).
        const label = value('store-label') ?? serverName;
        const mongoRows = indexedTokenHash ? both : both.filter((r) => !(r.token === 'opaque' && r.set === 'distinct'));
        const tokensFile = join(work, 'mongo.json');
        writeFileSync(tokensFile, JSON.stringify(seed.tokens));
        const env = { ...ourEnv(port), MONGODB_URI: mongo.uri, MONGODB_DB: dbName, KEYS_DIR: keysDir };
        if (want('mongo')) {
          const s = await startServer({ script: 'src/server.ts', env: { ...env, WORKERS: '1' }, pin: true, tokensFile, readyPath: '/readyz', port });
          rows.push(...(await withServer(s, mongoRows.map((r) => ({ name: `(e) this server, ${label}, 1 worker`, group: 'mongo', ...r })))));
        }
        if (want('mongo-workers')) {
          const s = await startServer({ script: 'src/server.ts', env: { ...env, WORKERS: '2' }, pin: false, tokensFile, readyPath: '/readyz', port });
          rows.push(...(await withServer(s, [...hot, { token: 'jwt', set: 'distinct' } as Kind].map((r) => ({ name: `(e2) this server, ${label}, 2 workers`, group: 'mongo-workers', ...r })))));
        }
      } finally {
        const client = new MongoClient(mongo.uri);
        await client.db(dbName).dropDatabase().catch(() => undefined);
        await client.close();
        mongo.stop();
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const bare = rows.find((r) => r.group === 'bare')?.rps;
  const peer = rows.find((r) => r.group === 'oidc' && r.set === 'hot')?.rps;
  for (const r of rows) {
    if (bare) r.vsBare = Math.round((r.rps / bare) * 100) / 100;
    if (peer) r.vsPeer = Math.round((r.rps / peer) * 100) / 100;
  }
  const machine = {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadavg_start: loadStart,
    loadavg_end: loadavg().map((l) => Math.round(l * 100) / 100),
    pinned: canPin,
    loader,
  };
  if (rows.length > 0) printTable(rows);
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, settings, rows, ...(soak ? { soak } : {}) }, null, 2));
  if (soak) console.log(`\nsoak: ${soak.seconds} s of the distinct JWT set; RSS MB each minute: ${soak.rssMb.join(' ')}; req/s: ${soak.rps.join(' ')}; bad answers: ${soak.bad}`);
  console.log(`\nmachine: ${machine.nproc} cores, ${machine.cpu}, Node ${machine.node}, load generator ${loader}, load average (1, 5, 15 min) at start ${machine.loadavg_start.join(' ')}, at end ${machine.loadavg_end.join(' ')}`);
  console.log(`results: ${file}`);
  if (rows.some((r) => r.inactive > 0 || r.errors > 0) || (soak?.bad ?? 0) > 0) {
    console.log('WARNING: some answers were not active or failed: see the inactive/errors columns');
    process.exitCode = 1;
  }
}

function printTable(rows: Row[]): void {
  const head = ['server', 'token', 'set', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'x bare', 'x peer', 'cold req/s', 'RSS MB start→end', 'bad'];
  const lines = rows.map((r) => [
    r.name, r.group === 'bare' || r.group === 'koa' ? '-' : r.token, r.set, String(r.rps), String(r.p50), String(r.p99), String(r.cpuUsPerRequest),
    r.vsBare?.toFixed(2) ?? '-', r.vsPeer?.toFixed(2) ?? '-', r.coldRps !== undefined ? String(r.coldRps) : '-',
    `${r.rssStartMb}→${r.rssEndMb}`, String(r.inactive + r.errors),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(fmt(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) console.log(fmt(l));
}

await main();
