import { writeFileSync } from 'node:fs';
import Provider from 'oidc-provider';
import { port } from './fixed.js';

/**
 * The peer: oidc-provider's own introspection endpoint (RFC 7662), one
 * client with client_secret_basic, opaque access tokens bound to a grant
 * (so each introspection reads the token and its grant, as ours reads the
 * grant and the customer). Its bundled memory adapter keeps only 1000
 * entries, so a plain Map adapter holds the large token set.
 */
type Payload = Record<string, unknown>;
const data = new Map<string, Payload>();
class MapAdapter {
  constructor(private readonly model: string) {}
  private key(id: string) {
    return `${this.model}:${id}`;
  }
  async upsert(id: string, payload: Payload) {
    data.set(this.key(id), payload);
  }
  async find(id: string) {
    return data.get(this.key(id));
  }
  async findByUserCode() {
    return undefined;
  }
  async findByUid() {
    return undefined;
  }
  async consume(id: string) {
    const p = data.get(this.key(id));
    if (p) p.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    data.delete(this.key(id));
  }
  async revokeByGrantId() {}
}

const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const listenPort = port();
const provider = new Provider(`http://127.0.0.1:${listenPort}`, {
  adapter: MapAdapter,
  clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_types: [], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' }],
  features: { introspection: { enabled: true, allowedPolicy: async () => true }, devInteractions: { enabled: false } },
});

const count = Number(process.env.BENCH_TOKENS_N ?? 1);
const client = await provider.Client.find(CLIENT_ID);
const tokens: string[] = [];
for (let i = 0; i < count; i++) {
  const accountId = `c${i % 1000}`;
  const grant = new provider.Grant({ accountId, clientId: CLIENT_ID });
  grant.addOIDCScope('openid');
  const grantId = await grant.save();
  tokens.push(await new provider.AccessToken({ client, accountId, grantId, scope: 'openid', expiresIn: 7200 }).save());
}
writeFileSync(process.env.BENCH_TOKENS_FILE!, JSON.stringify({ clientId: CLIENT_ID, secret: CLIENT_SECRET, path: '/token/introspection', sets: { opaque: tokens } }));
provider.listen(listenPort, '127.0.0.1');
