import { createServer, type Server } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { exportJWK, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import { systemClock } from '../../src/core/clock.js';
import { ADMIN_TOKEN, backends, buildTestApp, type Backend } from '../helpers/app.js';

/**
 * End to end with a real OAuth client library (openid-client v6) over HTTP:
 * discovery, client authentication by assertion, introspection (plain and
 * RFC 9701 signed), revocation. The issuer is the server's real loopback URL,
 * so the library's own issuer and audience checks run unchanged; plain http
 * needs `allowInsecureRequests`, which is for loopback tests only.
 */
async function liveServer(t: ExecutionContext, backend: Backend) {
  // Listen first, so the issuer can be the URL the library actually calls.
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const issuer = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const { store, cleanup } = await backend.make();
  const { app, keys } = await buildTestApp({
    env: { ISSUER: issuer, CLIENT_SECRET_KEY: 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=' },
    store,
    clock: systemClock,
  });
  server.on('request', app.callback());
  t.teardown(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await cleanup();
  });
  const admin = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${issuer}${path}`, {
      method,
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  await admin('PUT', '/admin/customers/c1', { status: 'active' });
  /** A token issued to `clientId`, which may then revoke it (RFC 7009 §2.1). */
  const issue = async (clientId: string) => (await admin('POST', '/admin/tokens', { customer_id: 'c1', site_id: 'site-a', client_id: clientId })).auth_token as string;
  return { issuer, admin, issue, keys };
}

/** Records the Content-Type of every answer the library receives. */
function watchContentTypes(config: client.Configuration): string[] {
  const seen: string[] = [];
  config[client.customFetch] = async (url, options) => {
    const res = await fetch(url, options as RequestInit);
    seen.push(res.headers.get('content-type') ?? '');
    return res;
  };
  return seen;
}

const discoveryOptions = { algorithm: 'oauth2' as const, execute: [client.allowInsecureRequests] };

for (const backend of backends()) {
  test(`[${backend.name}] openid-client: discovery, private_key_jwt introspection, RFC 9701 signed answer, revocation`, async (t) => {
    const s = await liveServer(t, backend);
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const registered = await s.admin('POST', '/admin/clients', {
      client_name: 'Gateway',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'gw-1', alg: 'ES256', use: 'sig' }] },
      introspection_signed_response_alg: 'ES256',
    });
    const clientId = registered.client_id as string;

    const config = await client.discovery(
      new URL(s.issuer),
      clientId,
      { introspection_signed_response_alg: 'ES256' },
      client.PrivateKeyJwt({ key: privateKey, kid: 'gw-1' }),
      discoveryOptions,
    );
    const metadata = config.serverMetadata();
    t.is(metadata.issuer, s.issuer);
    t.is(metadata.introspection_endpoint, `${s.issuer}/introspect`);
    t.true(metadata.introspection_endpoint_auth_methods_supported?.includes('private_key_jwt'));

    // The library asks for a signed answer and verifies it against the server's jwks_uri.
    client.enableNonRepudiationChecks(config);
    const contentTypes = watchContentTypes(config);
    const token = await s.issue(clientId);
    const answer = await client.tokenIntrospection(config, token);
    t.is(answer.active, true);
    t.is(answer.sub, 'c1');
    t.is(answer.site_id, 'site-a');
    t.true(contentTypes.includes('application/token-introspection+jwt'), `answers: ${contentTypes.join(', ')}`);

    // Every call made a fresh assertion (single-use jti), so repeated calls keep working.
    t.is((await client.tokenIntrospection(config, token)).active, true);
    await client.tokenRevocation(config, token);
    const after = await client.tokenIntrospection(config, token);
    t.is(after.active, false);
    t.is(after.reason, 'revoked');
  });

  test(`[${backend.name}] openid-client: client_secret_jwt introspection and revocation, plain JSON answers`, async (t) => {
    const s = await liveServer(t, backend);
    const registered = await s.admin('POST', '/admin/clients', { client_name: 'Energy Intel', token_endpoint_auth_method: 'client_secret_jwt' });
    const config = await client.discovery(
      new URL(s.issuer),
      registered.client_id as string,
      undefined,
      client.ClientSecretJwt(registered.client_secret as string),
      discoveryOptions,
    );
    const contentTypes = watchContentTypes(config);
    const token = await s.issue(registered.client_id as string);
    t.is((await client.tokenIntrospection(config, token)).active, true);
    t.regex(contentTypes[0] ?? '', /^application\/json/);
    await client.tokenRevocation(config, token);
    t.is((await client.tokenIntrospection(config, token)).active, false);

    // The wrong secret is refused.
    const wrong = await client.discovery(new URL(s.issuer), registered.client_id as string, undefined, client.ClientSecretJwt('not-the-secret'), discoveryOptions);
    const error = await t.throwsAsync(client.tokenIntrospection(wrong, token));
    // A 401 with a WWW-Authenticate challenge (RFC 6749 §5.2): the library reports it as such.
    t.is((error as { status?: number }).status, 401);
    t.is((error as { code?: string }).code, 'OAUTH_WWW_AUTHENTICATE_CHALLENGE');
  });
}
