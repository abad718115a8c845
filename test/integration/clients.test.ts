import test from 'ava';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oauth from 'oauth4webapi';
import * as openid from 'openid-client';
import { systemClock } from '../../src/core/clock.js';
import type { Store } from '../../src/store/types.js';
import { backends, buildTestApp } from '../helpers/app.js';
import type { DeclareTest } from '../helpers/mongo.js';

/**
 * The two OAuth client libraries the guides recommend, run against the real
 * server over HTTP on loopback (the issuer is http://127.0.0.1:<port>, so both
 * libraries are told to allow plain HTTP): discovery, introspection of an
 * active and an inactive token, revocation, with client_secret_basic and
 * client_secret_post.
 */

const ADMIN_TOKEN = 'clients-test-admin-token-0123456789abcdef';
type Method = 'client_secret_basic' | 'client_secret_post';

interface Running {
  issuer: string;
  server: Server;
  admin(path: string, body: unknown, method?: string): Promise<Record<string, unknown>>;
}

async function start(store: Store): Promise<Running> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { app } = await buildTestApp({ env: { ISSUER: issuer, ADMIN_TOKEN }, store, clock: systemClock });
  server.on('request', app.callback());
  const admin = async (path: string, body: unknown, method = 'POST') => {
    const res = await fetch(`${issuer}${path}`, {
      method, headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  return { issuer, server, admin };
}

/** A client registered for `method`, a customer and two tokens issued to that client (one to revoke). */
async function setup(r: Running, method: Method) {
  const client = await r.admin('/admin/clients', { name: `library test (${method})`, token_endpoint_auth_method: method });
  const clientId = client.client_id as string;
  await r.admin('/admin/customers/c42', { status: 'active' }, 'PUT');
  // RFC 7009 §2.1: a client may revoke only tokens issued to it.
  const jwt = await r.admin('/admin/tokens', { customer_id: 'c42', site_id: 'energy-intel', client_id: clientId });
  const opaque = await r.admin('/admin/tokens', { customer_id: 'c42', format: 'opaque', client_id: clientId });
  return {
    clientId,
    secret: client.client_secret as string,
    jwt: jwt.auth_token as string,
    opaque: opaque.auth_token as string,
  };
}

const available = backends();
for (const name of ['memory', 'mongodb'] as const) {
  const backend = available.find((b) => b.name === name);
  // Without a MongoDB server its variants are declared with test.skip, so ava counts them as skipped.
  const declare: DeclareTest = backend ? test : test.skip;
  for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
    declare(`[${name}] openid-client: discovery, introspection, revocation with ${method}`, async (t) => {
      const { store, cleanup } = await backend!.make();
      t.teardown(cleanup);
      const r = await start(store);
      try {
        const { clientId, secret, jwt, opaque } = await setup(r, method);
        const auth = method === 'client_secret_basic' ? openid.ClientSecretBasic(secret) : openid.ClientSecretPost(secret);
        const config = await openid.discovery(new URL(r.issuer), clientId, undefined, auth, {
          algorithm: 'oauth2',
          execute: [openid.allowInsecureRequests],
        });
        const meta = config.serverMetadata();
        t.is(meta.issuer, r.issuer);
        t.is(meta.introspection_endpoint, `${r.issuer}/introspect`);
        t.true(meta.introspection_endpoint_auth_methods_supported?.includes(method));

        const active = await openid.tokenIntrospection(config, jwt);
        t.true(active.active);
        t.is(active.sub, 'c42');
        t.is(active.token_type, 'Bearer');
        t.is((active as { site_id?: string }).site_id, 'energy-intel');
        t.true(active.exp! > Date.now() / 1000);

        const inactive = await openid.tokenIntrospection(config, 'not-a-token');
        t.false(inactive.active);
        t.is((inactive as { reason?: string }).reason, 'malformed');

        t.true((await openid.tokenIntrospection(config, opaque)).active);
        await openid.tokenRevocation(config, opaque);
        const revoked = await openid.tokenIntrospection(config, opaque);
        t.false(revoked.active);
        t.is((revoked as { reason?: string }).reason, 'revoked');
        // Revoking an unknown token is not an error (RFC 7009 §2.2).
        await t.notThrowsAsync(() => openid.tokenRevocation(config, 'olt_unknown'));

        const wrong = await openid.discovery(new URL(r.issuer), clientId, undefined,
          method === 'client_secret_basic' ? openid.ClientSecretBasic('wrong') : openid.ClientSecretPost('wrong'),
          { algorithm: 'oauth2', execute: [openid.allowInsecureRequests] });
        const error = await t.throwsAsync(() => openid.tokenIntrospection(wrong, jwt));
        // 401 with `WWW-Authenticate: Basic` (RFC 6749 §5.2) surfaces as the library's challenge error.
        t.like(error as object, { name: 'WWWAuthenticateChallengeError', status: 401 });
      } finally {
        await new Promise<void>((resolve) => r.server.close(() => resolve()));
      }
    });

    declare(`[${name}] oauth4webapi: discovery, introspection, revocation with ${method}`, async (t) => {
      const { store, cleanup } = await backend!.make();
      t.teardown(cleanup);
      const r = await start(store);
      try {
        const { clientId, secret, jwt, opaque } = await setup(r, method);
        const issuer = new URL(r.issuer);
        const insecure = { [oauth.allowInsecureRequests]: true };
        const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
        t.is(as.revocation_endpoint, `${r.issuer}/revoke`);
        const client: oauth.Client = { client_id: clientId };
        const auth = method === 'client_secret_basic' ? oauth.ClientSecretBasic(secret) : oauth.ClientSecretPost(secret);
        const introspect = async (token: string) =>
          oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, token, insecure));

        const active = await introspect(jwt);
        t.true(active.active);
        t.is(active.sub, 'c42');
        t.is(active.client_id, clientId, 'the client the token was issued to');
        t.is(active.iss, r.issuer);

        const inactive = await introspect('x.y.z');
        t.false(inactive.active);
        t.is(inactive.reason, 'malformed');

        await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, jwt, insecure));
        const revoked = await introspect(jwt);
        t.false(revoked.active);
        t.is(revoked.reason, 'revoked');
        t.true((await introspect(opaque)).active);

        const wrongAuth = method === 'client_secret_basic' ? oauth.ClientSecretBasic('wrong') : oauth.ClientSecretPost('wrong');
        const res = await oauth.introspectionRequest(as, client, wrongAuth, opaque, insecure);
        t.is(res.status, 401);
        const error = await t.throwsAsync(() => oauth.processIntrospectionResponse(as, client, res));
        // 401 with `WWW-Authenticate: Basic` (RFC 6749 §5.2) surfaces as the library's challenge error.
        t.like(error as object, { name: 'WWWAuthenticateChallengeError', status: 401 });
      } finally {
        await new Promise<void>((resolve) => r.server.close(() => resolve()));
      }
    });
  }
}
