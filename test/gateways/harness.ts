/**
 * What every integration-guide test shares: this server started as its own
 * process, a tiny upstream that records what reaches it, the guide's own
 * configuration text read from its Markdown page, and one list of checks
 * every guide must pass in front of the real product.
 *
 * A guide marks the blocks a test runs with an HTML comment on the line before
 * the fence, `<!-- file: NAME -->`; `guideFiles` returns them by NAME. The test
 * swaps the guide's example addresses and credentials for the run's with
 * `substitute`, which fails when a swapped string is missing, so the guide
 * cannot drift away from what is tested.
 */
import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { freePort } from '../helpers/ports.js';

export const ROOT = resolve(import.meta.dirname, '../..');

/** Where `.ci/gateways/*.sh` put a product's build: `$OPEN_LOGIN_CACHE/gateways/NAME`. */
export function gatewayCache(name: string): string {
  return join(process.env.OPEN_LOGIN_CACHE ?? join(homedir(), '.cache/open-login'), 'gateways', name);
}

// ---------------------------------------------------------------- processes

export interface Proc {
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts a process whose output is kept for failure messages; `stop` ends it (SIGTERM, then SIGKILL after 5 s). */
export function startProcess(command: string, args: string[], options: SpawnOptions = {}): Proc {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      // The whole process group: JVM launchers and shells start children.
      process.kill(-child.pid!, sig);
    } catch {
      /* gone already */
    }
  };
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until `url` answers (any status below 500 unless `ok` says otherwise), or fails with the process's output. */
export async function waitForHttp(
  url: string,
  proc: Proc | undefined,
  { timeoutMs = 120_000, ok = (status: number) => status < 500 }: { timeoutMs?: number; ok?: (status: number) => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc && (proc.child.exitCode !== null || proc.child.signalCode !== null)) {
      throw new Error(`process exited (${proc.child.exitCode ?? proc.child.signalCode}) before ${url} answered:\n${proc.output().slice(-4000)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (ok(res.status)) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer in ${timeoutMs} ms (${last}):\n${proc?.output().slice(-4000) ?? ''}`);
}

// ---------------------------------------------------------------- this server

export const ADMIN_TOKEN = 'gateway-test-admin-token-0123456789abcdef';

export interface IntrospectionServer {
  /** `http://127.0.0.1:PORT`, also the `ISSUER`. */
  url: string;
  port: number;
  proc: Proc;
  /** A call to the admin API; throws unless the status is 2xx. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- admin answers are read field by field by each test
  admin: (method: string, path: string, body?: unknown) => Promise<any>;
  stop: () => Promise<void>;
}

/** This server as its own process (embedded store, a fresh key), as a guide's reader runs it. */
export async function startIntrospectionServer(env: Record<string, string> = {}): Promise<IntrospectionServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const keysDir = mkdtempSync(join(tmpdir(), 'gw-keys-'));
  const proc = startProcess(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: url,
      ADMIN_TOKEN,
      KEYS_DIR: keysDir,
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  await waitForHttp(`${url}/readyz`, proc, { timeoutMs: 60_000, ok: (s) => s === 200 });
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return {
    url,
    port,
    proc,
    admin,
    stop: async () => {
      await proc.stop();
      rmSync(keysDir, { recursive: true, force: true });
    },
  };
}

export interface Scenario {
  clientId: string;
  clientSecret: string;
  /** A secret that is not the client's, for the "wrong client secret" check. */
  wrongSecret: string;
  /** The customer id, the `sub` a gateway passes on. */
  subject: string;
  username: string;
  tokens: {
    /** Active JWT (fresh key, the server's own). */
    valid: string;
    /** Active opaque token. */
    opaque: string;
    /** Its `exp` has passed. */
    expired: string;
    /** Revoked through the admin API before any use. */
    revoked: string;
    /** The claims of a valid token signed with another key under the same `kid`. */
    forged: string;
  };
}

/**
 * A client registered as the guides say (`client_secret_basic` unless the
 * body says otherwise), a customer, and one token of each kind. `tokenBody`
 * is merged into every `POST /admin/tokens` (for an `audience`, say).
 */
export async function setUpScenario(
  server: IntrospectionServer,
  { clientBody = {}, tokenBody = {} }: { clientBody?: Record<string, unknown>; tokenBody?: Record<string, unknown> } = {},
): Promise<Scenario> {
  const client = await server.admin('POST', '/admin/clients', { name: 'gateway under test', ...clientBody });
  const subject = 'gw-customer-1';
  const username = 'ada.lovelace';
  await server.admin('PUT', `/admin/customers/${subject}`, {
    status: 'active',
    username,
    email: 'ada@example.com',
    first_name: 'Ada',
    last_name: 'Lovelace',
  });
  const issue = async (extra: Record<string, unknown> = {}) =>
    (await server.admin('POST', '/admin/tokens', { customer_id: subject, site_id: 'energy-intel', ...tokenBody, ...extra })) as {
      auth_token: string;
      jti: string;
    };
  const valid = (await issue()).auth_token;
  const opaque = (await issue({ format: 'opaque' })).auth_token;
  const revokedGrant = await issue();
  await server.admin('POST', '/admin/tokens/revoke', { jti: revokedGrant.jti });
  const expiring = await issue({ expires_in: 1 });
  const forged = await forge(valid);
  // `exp` is in whole seconds and checked strictly: wait until it has passed.
  const exp = decodeJwt(expiring.auth_token).exp! * 1000;
  await new Promise((r) => setTimeout(r, Math.max(0, exp - Date.now()) + 1100));
  return {
    clientId: client.client_id,
    clientSecret: client.client_secret,
    wrongSecret: client.client_secret.endsWith('AAAA') ? `${client.client_secret.slice(0, -4)}BBBB` : `${client.client_secret.slice(0, -4)}AAAA`,
    subject,
    username,
    tokens: { valid, opaque, expired: expiring.auth_token, revoked: revokedGrant.auth_token, forged },
  };
}

/**
 * What every guide test starts with: this server, the upstream and the
 * scenario, each stopped when the test ends.
 */
export async function startGuideRun(
  t: ExecutionContext,
  options: Parameters<typeof setUpScenario>[1] = {},
): Promise<{ server: IntrospectionServer; upstream: Upstream; scenario: Scenario }> {
  const server = await startIntrospectionServer();
  t.teardown(server.stop);
  const upstream = await startUpstream();
  t.teardown(upstream.close);
  return { server, upstream, scenario: await setUpScenario(server, options) };
}

/** The same header and claims, signed with a key the server never had. */
async function forge(token: string): Promise<string> {
  const header = decodeProtectedHeader(token);
  const { privateKey } = await generateKeyPair('ES256');
  return new SignJWT(decodeJwt(token)).setProtectedHeader({ alg: 'ES256', kid: header.kid, typ: header.typ }).sign(privateKey);
}

// ---------------------------------------------------------------- upstream

export interface Upstream {
  url: string;
  port: number;
  /** Requests that reached the upstream, oldest first. */
  requests: { method: string; url: string; headers: IncomingHttpHeaders }[];
  close: () => Promise<void>;
}

/** A tiny API behind the gateway: answers 200 `{"upstream":true}` and records each request. */
export async function startUpstream(): Promise<Upstream> {
  const requests: Upstream['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"upstream":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// ---------------------------------------------------------------- guides

/** The blocks of a guide page marked `<!-- file: NAME -->`, by NAME. */
export function guideFiles(docPath: string): Map<string, string> {
  const text = readFileSync(join(ROOT, docPath), 'utf8');
  const files = new Map<string, string>();
  const marked = /<!--\s*file:\s*([^\s]+)\s*-->\s*\n```[^\n]*\n([\s\S]*?)\n```/g;
  for (const [, name, body] of text.matchAll(marked) as IterableIterator<[string, string, string]>) {
    if (files.has(name)) throw new Error(`${docPath}: two blocks named ${name}`);
    files.set(name, `${body}\n`);
  }
  if (files.size === 0) throw new Error(`${docPath}: no <!-- file: NAME --> blocks`);
  return files;
}

/** Replaces each `from` with `to`; a `from` that does not occur is an error (the guide changed). */
export function substitute(text: string, pairs: [from: string, to: string][]): string {
  let out = text;
  for (const [from, to] of pairs) {
    if (!out.includes(from)) throw new Error(`the guide's text no longer contains ${JSON.stringify(from)}`);
    out = out.split(from).join(to);
  }
  return out;
}

/** A fresh temporary directory, removed by `t.teardown`. */
export function tempDir(t: ExecutionContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------- the checks

export interface GatewayUnderTest {
  /** Sends one API request through the gateway with this Authorization value (none when undefined). */
  send: (authorization: string | undefined) => Promise<{ status: number; body: string }>;
  /** The subject the gateway passed on, read from the request the upstream saw. */
  subjectOf: (request: Upstream['requests'][number]) => string | undefined;
  /** Whether the guide admits opaque tokens too (every guide should). Default true. */
  opaque?: boolean;
  /** What `subjectOf` must read: default the customer id (`sub`); a product that knows users by RFC 7662 `username` passes that. */
  expectedSubject?: string;
}

/**
 * The checks every guide passes: a valid token (JWT, and opaque) is admitted
 * and its subject passed on, and no header the upstream sees carries it;
 * missing, forged, expired and revoked tokens are refused with 401 or 403 and
 * never reach the upstream.
 */
export async function checkGuide(t: ExecutionContext, scenario: Scenario, upstream: Upstream, gw: GatewayUnderTest): Promise<void> {
  const admitted = async (label: string, token: string) => {
    const before = upstream.requests.length;
    const res = await gw.send(`Bearer ${token}`);
    t.is(res.status, 200, `${label}: admitted (${res.body.slice(0, 300)})`);
    t.is(upstream.requests.length, before + 1, `${label}: reached the upstream once`);
    const seen = upstream.requests.at(-1);
    t.is(seen ? gw.subjectOf(seen) : undefined, gw.expectedSubject ?? scenario.subject, `${label}: subject passed on`);
  };
  const refused = async (label: string, authorization: string | undefined) => {
    const before = upstream.requests.length;
    const res = await gw.send(authorization);
    t.true(res.status === 401 || res.status === 403, `${label}: refused with 401/403, got ${res.status} (${res.body.slice(0, 300)})`);
    t.is(upstream.requests.length, before, `${label}: did not reach the upstream`);
  };
  await admitted('valid JWT', scenario.tokens.valid);
  if (gw.opaque !== false) await admitted('valid opaque token', scenario.tokens.opaque);
  await refused('missing token', undefined);
  await refused('forged JWT', `Bearer ${scenario.tokens.forged}`);
  await refused('expired JWT', `Bearer ${scenario.tokens.expired}`);
  await refused('revoked JWT', `Bearer ${scenario.tokens.revoked}`);
  await refused('not a token', 'Bearer not-a-token');
  checkTokensStayAtTheGateway(t, scenario, upstream);
}

/** No header of any request that reached the upstream carries a token: the gateway ends the bearer token's journey. */
export function checkTokensStayAtTheGateway(t: ExecutionContext, scenario: Scenario, upstream: Upstream): void {
  const tokens = [scenario.tokens.valid, scenario.tokens.opaque];
  const leaked = upstream.requests.flatMap((r) => Object.entries(r.headers)).filter(([, value]) => tokens.some((token) => String(value).includes(token)));
  t.deepEqual(
    leaked.map(([name]) => name),
    [],
    'no header carried the token to the upstream',
  );
}

/** With the client secret wrong in the gateway's configuration, a valid token must not be admitted. */
export async function checkWrongSecret(t: ExecutionContext, scenario: Scenario, upstream: Upstream, gw: Pick<GatewayUnderTest, 'send'>): Promise<void> {
  const before = upstream.requests.length;
  const res = await gw.send(`Bearer ${scenario.tokens.valid}`);
  t.true(res.status >= 400, `wrong client secret: not admitted, got ${res.status} (${res.body.slice(0, 300)})`);
  t.is(upstream.requests.length, before, 'wrong client secret: did not reach the upstream');
}
