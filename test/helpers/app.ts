import test, { type ExecutionContext } from 'ava';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import supertest from 'supertest';
import { loadConfig, type Config, type ConfigInput } from '../../src/config/index.js';
import { FixedClock, type Clock } from '../../src/core/clock.js';
import { createApp, type AppDeps, type HttpApp } from '../../src/http/app.js';
import { createHttpServer } from '../../src/http/listen.js';
import { generateKeyRecord, KeyStore, KeyStoreHolder, type KeyRecord } from '../../src/keys/keystore.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { StoreUnavailableError, type Store } from '../../src/store/types.js';
import { makeMongoTestStore, mongoRequired, mongoTestUri } from './mongo.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789';
export const ISSUER = 'https://login.example.test';
export const START = new Date('2026-01-15T12:00:00.000Z');

/** A store under test, with how to dispose of it. */
export interface Backend {
  name: 'memory' | 'mongodb';
  make: () => Promise<{ store: Store; cleanup: () => Promise<void> }>;
}

/**
 * The stores the API suite runs on: always the embedded one, and MongoDB
 * when a server is configured (required in CI; see test/store/mongo.test.ts).
 */
export function backends(): Backend[] {
  const list: Backend[] = [
    {
      name: 'memory',
      make: async () => {
        const store = new MemoryStore({ logger: silentLogger() });
        await store.init();
        return { store, cleanup: () => store.close() };
      },
    },
  ];
  if (mongoTestUri() || mongoRequired()) {
    list.push({
      name: 'mongodb',
      make: async () => {
        const { store, cleanup } = await makeMongoTestStore();
        return { store, cleanup };
      },
    });
  }
  return list;
}

export interface TestServer {
  config: Config;
  store: Store;
  keys: KeyStore;
  keyRecords: KeyRecord[];
  clock: FixedClock;
  request: supertest.Agent;
  /** The loopback port, for requests sent as raw bytes (test/helpers/raw-http.ts). */
  port: number;
  admin: AdminHelpers;
  /** The routes the app serves (`METHOD /path/:param`). */
  routes: () => string[];
  close: () => Promise<void>;
}

export interface AdminHelpers {
  createClient(body?: Record<string, unknown>): Promise<{ client_id: string; client_secret: string }>;
  upsertCustomer(id: string, body?: Record<string, unknown>): Promise<void>;
  issueToken(body: Record<string, unknown>): Promise<{ auth_token: string; jti: string; expires_at: string; expires_in: number }>;
}

/** How a test wants the app built; everything left out gets the usual test default. */
export interface TestAppOptions<C extends Clock = FixedClock> extends Partial<Omit<AppDeps, 'config' | 'store' | 'keys' | 'clock' | 'logger'>> {
  /** Configuration over the defaults (ISSUER, ADMIN_TOKEN, no KEYS_DIR). */
  env?: ConfigInput;
  /** Default: an empty embedded store. */
  store?: Store;
  /** Default: a FixedClock at START. */
  clock?: C;
  /** Default: one fresh ES256 key. */
  keyRecords?: KeyRecord[];
  /** Serve the keys through a KeyStoreHolder (returned as `keyHolder`), so the test can swap them while serving. */
  keyHolder?: boolean;
  /** Default: a logger that writes nothing. */
  logger?: Logger;
}

/** An app built for a test, with the parts it was built from. */
export interface TestApp<C extends Clock = FixedClock> {
  app: HttpApp;
  config: Config;
  store: Store;
  /** What the app was given as its keys (the holder's view with `keyHolder`). */
  keys: KeyStore;
  keyRecords: KeyRecord[];
  keyHolder: KeyStoreHolder | undefined;
  /** The options the KeyStore was built with, for building another one (as a key reload does). */
  keyOptions: { legacyHs256Secret: string | null; maxTokenTtlSeconds: number; clock: Clock };
  clock: C;
  logger: Logger;
}

/** Builds the app the way tests need it: the one place that calls createApp for them. */
export async function buildTestApp<C extends Clock = FixedClock>(options: TestAppOptions<C> = {}): Promise<TestApp<C>> {
  const { env, store: given, clock: givenClock, keyRecords: givenRecords, keyHolder: hold, logger: givenLogger, ...deps } = options;
  const clock = givenClock ?? (new FixedClock(START) as unknown as C);
  const config = loadConfig({ ISSUER, ADMIN_TOKEN, KEYS_DIR: '/nonexistent', ...env });
  const store = given ?? new MemoryStore({ logger: silentLogger() });
  const logger = givenLogger ?? silentLogger();
  const keyRecords = givenRecords ?? [await generateKeyRecord('ES256', clock.now())];
  const keyOptions = { legacyHs256Secret: config.legacyHs256Secret, maxTokenTtlSeconds: config.maxTokenTtlSeconds, clock };
  const built = await KeyStore.fromRecords(keyRecords, keyOptions);
  const keyHolder = hold ? new KeyStoreHolder(built) : undefined;
  const keys = keyHolder ? keyHolder.view : built;
  const app = createApp({ ...deps, config, store, keys, clock, logger });
  return { app, config, store, keys, keyRecords, keyHolder, keyOptions, clock, logger };
}

export type TestServerOptions = Omit<TestAppOptions<FixedClock>, 'store'>;

/** Builds the whole app on a given store, with a fixed clock and fresh keys. */
export async function startTestServer(store: Store, options: TestServerOptions = {}): Promise<TestServer> {
  const { app, config, keys, keyRecords, clock } = await buildTestApp({ ...options, store });
  const server: Server = createHttpServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const request = supertest.agent(server);
  const adminJson = async (method: 'post' | 'put', path: string, body: unknown, expected: number[]) => {
    const res = await request[method](path).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(body as object);
    if (!expected.includes(res.status)) throw new Error(`${method.toUpperCase()} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const admin: AdminHelpers = {
    createClient: (body = {}) => adminJson('post', '/admin/clients', { name: 'Energy Intel', ...body }, [201]),
    upsertCustomer: async (id, body = {}) => {
      await adminJson('put', `/admin/customers/${id}`, { status: 'active', ...body }, [200, 201]);
    },
    issueToken: (body) => adminJson('post', '/admin/tokens', body, [201]),
  };
  return {
    config,
    store,
    keys,
    keyRecords,
    clock,
    request,
    port: (server.address() as AddressInfo).port,
    admin,
    routes: () => app.routes(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `Authorization: Basic` for a client, form-encoding id and secret (RFC 6749 §2.3.1). */
export function basic(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

/**
 * Registers one API test per backend: the same test runs on the embedded
 * store and on MongoDB. Each run gets its own store and server.
 */
export function apiTest(title: string, fn: (t: ExecutionContext, s: TestServer) => Promise<void>, options: TestServerOptions = {}): void {
  const list = backends();
  // Without a MongoDB server the variant is declared skipped, so the summary counts it as not run.
  if (!list.some((backend) => backend.name === 'mongodb')) test.skip(`[mongodb] ${title}`, () => undefined);
  for (const backend of list) {
    test(`[${backend.name}] ${title}`, async (t) => {
      const { store, cleanup } = await backend.make();
      const server = await startTestServer(store, options);
      try {
        await fn(t, server);
      } finally {
        await server.close();
        await cleanup();
      }
    });
  }
}

/** A client, a customer `c1` and a JWT for it on site-a: the usual starting point. */
export async function standardSetup(s: TestServer, client: Record<string, unknown> = {}) {
  const c = await s.admin.createClient(client);
  await s.admin.upsertCustomer('c1', { email: 'ada@example.test' });
  const jwt = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a' });
  return { clientId: c.client_id, secret: c.client_secret, auth: basic(c.client_id, c.client_secret), token: jwt.auth_token, jti: jwt.jti };
}

/** A memory store whose every call fails as a down database would. */
export function downStore(): MemoryStore {
  const store = new MemoryStore({ logger: silentLogger() });
  const fail = async () => {
    throw new StoreUnavailableError('down');
  };
  store.ping = fail;
  for (const part of [store.grants, store.customers, store.clients]) {
    for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(part))) {
      if (key !== 'constructor') (part as unknown as Record<string, unknown>)[key] = fail;
    }
  }
  return store;
}
