import { systemClock } from '../src/core/clock.js';
import { hashClientSecret } from '../src/clients/client-auth.js';
import type { KeyStore } from '../src/keys/keystore.js';
import type { ApiClient, Customer, Grant, Store } from '../src/store/types.js';
import { issueToken } from '../src/core/tokens/issue.js';
import type { TokenFormat } from '../src/store/types.js';

/** What the load generator needs: credentials, where to send, and the tokens. */
export interface TokenFile {
  clientId: string;
  secret: string;
  path: string;
  sets: Partial<Record<TokenFormat, string[]>>;
}

export const BENCH_CLIENT_ID = 'bench-client';
export const BENCH_SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const CUSTOMERS = 1000;

export interface Seed {
  client: ApiClient;
  customers: Customer[];
  grants: Grant[];
  tokens: TokenFile;
}

/**
 * Makes a client, 1000 active customers and `count` tokens of each format
 * with the real issuer (`issueToken`), collecting the grants instead of
 * writing them one by one, so the caller can insert them in bulk.
 */
export async function makeSeed(options: { keys: KeyStore; issuer: string; count: number; formats: TokenFormat[] }): Promise<Seed> {
  const now = new Date();
  const client: ApiClient = {
    id: BENCH_CLIENT_ID,
    name: 'Benchmark',
    secretHash: hashClientSecret(BENCH_SECRET),
    authMethod: 'client_secret_basic',
    reasonCodes: true,
    siteIds: null,
    createdAt: now,
  };
  const customers: Customer[] = Array.from({ length: CUSTOMERS }, (_, i) => ({
    id: `c${i}`, status: 'active', email: null, firstName: null, lastName: null, updatedAt: now,
  }));
  const grants: Grant[] = [];
  const collecting = { grants: { insert: async (g: Grant) => void grants.push(g) } } as unknown as Store;
  const sets: TokenFile['sets'] = {};
  for (const format of options.formats) {
    const list: string[] = [];
    for (let i = 0; i < options.count; i++) {
      const { token } = await issueToken(
        { customerId: `c${i % CUSTOMERS}`, siteId: 'site-a', clientId: 'open-login', expiresInSeconds: 4 * 3600, format },
        { keys: options.keys, store: collecting, clock: systemClock, issuer: options.issuer, audience: options.issuer },
      );
      list.push(token);
    }
    sets[format] = list;
  }
  return { client, customers, grants, tokens: { clientId: client.id, secret: BENCH_SECRET, path: '/introspect', sets } };
}
