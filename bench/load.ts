import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TokenFile } from './seed.js';

/**
 * One load run, in its own process (so it has its own core): POSTs
 * `token=...` with HTTP Basic client credentials, cycling through the chosen
 * tokens, and checks that every answer is an active one. Prints one JSON line
 * with the result (`LoadResult`).
 *
 * The load generator is wrk when installed: a Node generator (autocannon)
 * saturates its core below what bare node:http serves, which would make the
 * ceiling row and every ratio to it too low. autocannon is the fallback.
 */
export type Loader = 'wrk' | 'autocannon';

export interface LoadRequest {
  loader: Loader;
  url: string;
  tokensFile: string;
  set: 'jwt' | 'opaque';
  /** Use the first `tokens` tokens of the set; 0: all. */
  tokens: number;
  connections: number;
  durationSeconds: number;
  /** Where in the set to start cycling. */
  offset: number;
}

export interface LoadResult {
  rps: number;
  requests: number;
  /** Latencies in milliseconds. */
  p50: number;
  p99: number;
  mean: number;
  /** Answers with a status other than 2xx (wrk: 4xx and 5xx). */
  non2xx: number;
  /** Socket errors (connect, read, write). */
  errors: number;
  timeouts: number;
  /** Answers that were not 200 `{"active":true,...}`. */
  inactive: number;
  firstInactive: string | null;
}

/** wrk when on PATH, unless BENCH_LOADER=wrk|autocannon says which. */
export function chooseLoader(): Loader {
  const forced = process.env.BENCH_LOADER;
  if (forced === 'autocannon') return forced;
  if (forced !== undefined && forced !== '' && forced !== 'wrk') throw new Error(`BENCH_LOADER must be wrk or autocannon, not ${forced}`);
  const hasWrk = spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
  if (forced === 'wrk' && !hasWrk) throw new Error('BENCH_LOADER=wrk but wrk is not on PATH (apt-get install wrk)');
  return hasWrk ? 'wrk' : 'autocannon';
}

/** bench/wrk.lua, from bench/ (tsx) or from dist/bench/ (compiled). */
function wrkScript(): string {
  for (const candidate of ['wrk.lua', '../../bench/wrk.lua']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('bench/wrk.lua not found');
}

interface WrkOutput {
  requests: number;
  duration: number;
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  non2xx: number;
  inactive: number;
  firstInactive: string | null;
}

async function runWrk(request: LoadRequest, url: string, bodies: string[], authorization: string): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-wrk-'));
  try {
    const bodiesFile = join(dir, 'bodies');
    writeFileSync(bodiesFile, `${bodies.join('\n')}\n`);
    // One thread: the process is pinned to one core; --timeout as autocannon's default (10 s).
    const args = [
      '-t1', `-c${request.connections}`, `-d${request.durationSeconds}s`, '--timeout', '10s', '--latency',
      '-s', wrkScript(), url, '--', bodiesFile, authorization, String(request.offset),
    ];
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    // wrk prints its own summary first, then the script's done() line.
    const line = stdout.split('\n').find((l) => l.startsWith('{'));
    if (code !== 0 || line === undefined) throw new Error(`wrk exited with ${code}: ${(stderr || stdout).trim().slice(-2000)}`);
    const w = JSON.parse(line) as WrkOutput;
    return {
      rps: w.rps,
      requests: w.requests,
      p50: w.p50,
      p99: w.p99,
      mean: w.mean,
      non2xx: w.non2xx,
      errors: w.connect + w.read + w.write,
      timeouts: w.timeout,
      inactive: w.inactive,
      firstInactive: w.firstInactive,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runAutocannon(request: LoadRequest, url: string, bodies: string[], authorization: string): Promise<LoadResult> {
  const { default: autocannon } = await import('autocannon');
  let next = request.offset % bodies.length;
  let inactive = 0;
  let firstInactive: string | null = null;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: request.connections,
        duration: request.durationSeconds,
        method: 'POST',
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
        requests: [
          {
            setupRequest: (req: Record<string, unknown>) => {
              req.body = bodies[next]!;
              next = next + 1 === bodies.length ? 0 : next + 1;
              return req;
            },
            onResponse: (status: number, body: string) => {
              if (status !== 200 || !body.startsWith('{"active":true')) {
                inactive += 1;
                firstInactive ??= `${status} ${body.slice(0, 120)}`;
              }
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        resolve({
          rps: result.requests.total / request.durationSeconds,
          requests: result.requests.total,
          p50: result.latency.p50,
          p99: result.latency.p99,
          mean: result.latency.average,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          inactive,
          firstInactive,
        });
      },
    );
    process.once('SIGINT', () => instance.stop());
  });
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2]!) as LoadRequest;
  const file = JSON.parse(readFileSync(request.tokensFile, 'utf8')) as TokenFile;
  const all = file.sets[request.set] ?? [];
  const tokens = request.tokens > 0 ? all.slice(0, request.tokens) : all;
  if (tokens.length === 0) throw new Error(`no ${request.set} tokens in ${request.tokensFile}`);
  const bodies = tokens.map((t) => `token=${encodeURIComponent(t)}`);
  const authorization = `Basic ${Buffer.from(`${file.clientId}:${file.secret}`).toString('base64')}`;
  const url = request.url + file.path;
  // wrk stops on SIGINT (Ctrl-C reaches it too) and still reports: wait for it.
  if (request.loader === 'wrk') process.once('SIGINT', () => undefined);
  const out = request.loader === 'wrk' ? await runWrk(request, url, bodies, authorization) : await runAutocannon(request, url, bodies, authorization);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

// run.ts imports chooseLoader from here; only `node load.js '<LoadRequest>'` runs a load.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
