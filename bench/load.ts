import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { TokenFile } from './seed.js';

/**
 * One load run, in its own process (so it has its own core): autocannon
 * POSTs `token=...` with HTTP Basic client credentials, cycling through the
 * chosen tokens, and checks that every answer is an active one. Prints one
 * JSON line with the result.
 */
export interface LoadRequest {
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

const request = JSON.parse(process.argv[2]!) as LoadRequest;
const file = JSON.parse(readFileSync(request.tokensFile, 'utf8')) as TokenFile;
const all = file.sets[request.set] ?? [];
const tokens = request.tokens > 0 ? all.slice(0, request.tokens) : all;
if (tokens.length === 0) throw new Error(`no ${request.set} tokens in ${request.tokensFile}`);
const bodies = tokens.map((t) => `token=${encodeURIComponent(t)}`);
let next = request.offset % bodies.length;
let inactive = 0;
let firstInactive: string | null = null;

const instance = autocannon(
  {
    url: request.url + file.path,
    connections: request.connections,
    duration: request.durationSeconds,
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${file.clientId}:${file.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
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
    if (error) throw error;
    const out = {
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
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  },
);
process.once('SIGINT', () => instance.stop());
