/**
 * Adversarial: RFC 6749 §3.2 (and §3.1): "Parameters sent without a value
 * MUST be treated as if they were omitted from the request." Forms that send
 * every field (the API docs page's "Try it out", HTML forms, generated
 * clients) put empty client parameters next to working credentials; those
 * must neither count as a second authentication method nor contradict the
 * Authorization header. The form endpoints and the JSON endpoint agree.
 */
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { CLIENT_ASSERTION_TYPE } from '../../src/clients/client-auth.js';
import { apiTest, basic, ISSUER, standardSetup, type TestServer } from '../helpers/app.js';

const FORM_ENDPOINTS = ['/introspect', '/revoke'] as const;
const VALIDATE = '/api/v1/auth/token/validate';
const EMPTY_CLIENT_PARAMETERS = ['client_id', 'client_secret', 'client_assertion_type', 'client_assertion'] as const;

/** Every non-empty subset of the empty client parameters, as form bodies after `token=...`. */
function emptyCombinations(names: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let mask = 1; mask < 1 << names.length; mask++) out.push(names.filter((_, i) => mask & (1 << i)));
  return out;
}

const formBody = (token: string, fields: Record<string, string>, empties: string[]) =>
  [`token=${encodeURIComponent(token)}`, ...Object.entries(fields).map(([k, v]) => `${k}=${encodeURIComponent(v)}`), ...empties.map((k) => `${k}=`)].join('&');

/** A fresh token issued to `clientId` (RFC 7009 §2.1: a client revokes only its own tokens). */
async function newToken(s: TestServer, clientId: string): Promise<string> {
  return (await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', client_id: clientId })).auth_token;
}

apiTest('Basic authentication: empty client_id, client_secret, client_assertion_type or client_assertion are ignored', async (t, s) => {
  const { auth, clientId } = await standardSetup(s);
  for (const endpoint of FORM_ENDPOINTS) {
    for (const empties of emptyCombinations(EMPTY_CLIENT_PARAMETERS)) {
      const res = await s.request.post(endpoint).set('Authorization', auth).type('form').send(formBody(await newToken(s, clientId), {}, empties));
      t.is(res.status, 200, `${endpoint} with empty ${empties.join(', ')}: ${JSON.stringify(res.body)}`);
    }
  }
  for (const empties of emptyCombinations(EMPTY_CLIENT_PARAMETERS)) {
    const body = { auth_token: await newToken(s, clientId), ...Object.fromEntries(empties.map((k) => [k, ''])) };
    const res = await s.request.post(VALIDATE).set('Authorization', auth).send(body);
    t.is(res.status, 200, `validate with empty ${empties.join(', ')}: ${JSON.stringify(res.body)}`);
    t.is(res.body.valid, true);
  }
});

apiTest('client_secret_post: empty assertion parameters are ignored', async (t, s) => {
  const { clientId, secret } = await standardSetup(s, { token_endpoint_auth_method: 'client_secret_post' });
  for (const empties of emptyCombinations(['client_assertion_type', 'client_assertion'])) {
    for (const endpoint of FORM_ENDPOINTS) {
      const res = await s.request.post(endpoint).type('form').send(formBody(await newToken(s, clientId), { client_id: clientId, client_secret: secret }, empties));
      t.is(res.status, 200, `${endpoint} with empty ${empties.join(', ')}: ${JSON.stringify(res.body)}`);
    }
    const body = { auth_token: await newToken(s, clientId), client_id: clientId, client_secret: secret, ...Object.fromEntries(empties.map((k) => [k, ''])) };
    const res = await s.request.post(VALIDATE).send(body);
    t.is(res.status, 200, `validate with empty ${empties.join(', ')}: ${JSON.stringify(res.body)}`);
  }
});

apiTest('client assertion: empty client_id and client_secret are ignored', async (t, s) => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const reg = await s.admin.createClient({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] } });
  await s.admin.upsertCustomer('c1');
  const sign = (aud: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(reg.client_id)
      .setSubject(reg.client_id)
      .setAudience(aud)
      .setIssuedAt(s.clock.now())
      .setExpirationTime(new Date(s.clock.now().getTime() + 60_000))
      .setJti(randomBytes(12).toString('base64url'))
      .sign(privateKey);
  for (const empties of emptyCombinations(['client_id', 'client_secret'])) {
    for (const endpoint of FORM_ENDPOINTS) {
      const fields = { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await sign(ISSUER) };
      const res = await s.request.post(endpoint).type('form').send(formBody(await newToken(s, reg.client_id), fields, empties));
      t.is(res.status, 200, `${endpoint} with empty ${empties.join(', ')}: ${JSON.stringify(res.body)}`);
    }
    const body = {
      auth_token: await newToken(s, reg.client_id),
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await sign(`${ISSUER}${VALIDATE}`),
      ...Object.fromEntries(empties.map((k) => [k, ''])),
    };
    const res = await s.request.post(VALIDATE).send(body);
    t.is(res.status, 200, `validate with empty ${empties.join(', ')}: ${JSON.stringify(res.body)}`);
  }
});

apiTest('empty parameters alone are no credentials: 401, never 400', async (t, s) => {
  const { clientId } = await standardSetup(s);
  const token = await newToken(s, clientId);
  for (const endpoint of FORM_ENDPOINTS) {
    const res = await s.request.post(endpoint).type('form').send(formBody(token, {}, [...EMPTY_CLIENT_PARAMETERS]));
    t.is(res.status, 401, endpoint);
    t.is(res.body.error, 'invalid_client');
  }
  const res = await s.request.post(VALIDATE).send({ auth_token: token, client_id: '', client_secret: '', client_assertion_type: '', client_assertion: '' });
  t.is(res.status, 401);
  t.is(res.body.error, 'invalid_client');
});

apiTest('an empty client_secret does not make an id alone into client_secret_post credentials', async (t, s) => {
  const { clientId } = await standardSetup(s, { token_endpoint_auth_method: 'client_secret_post' });
  const res = await s.request.post('/introspect').type('form').send(formBody(await newToken(s, clientId), { client_id: clientId }, ['client_secret']));
  t.is(res.status, 401);
  t.is(res.body.error, 'invalid_client');
});

apiTest('an empty token is still "parameter token is required", after the client authenticated', async (t, s) => {
  const { auth } = await standardSetup(s);
  for (const endpoint of FORM_ENDPOINTS) {
    const res = await s.request.post(endpoint).set('Authorization', auth).type('form').send('token=&client_id=&client_secret=&client_assertion_type=&client_assertion=');
    t.is(res.status, 400, endpoint);
    t.deepEqual(res.body, { error: 'invalid_request', error_description: 'parameter token is required' }, endpoint);
  }
  const res = await s.request.post(VALIDATE).set('Authorization', auth).send({ auth_token: '', client_id: '', client_secret: '' });
  t.is(res.status, 400);
  t.is(res.body.error, 'invalid_request');
});

apiTest('empty values do not hide a real second method or a mismatch', async (t, s) => {
  const { clientId, secret, auth, token } = await standardSetup(s);
  // Basic and a non-empty client_secret: two methods (RFC 6749 §2.3).
  const two = await s.request.post('/introspect').set('Authorization', auth).type('form').send(formBody(token, { client_secret: secret }, ['client_id']));
  t.is(two.status, 400);
  t.is(two.body.error, 'invalid_request');
  // A non-empty client_id that names another client still fails.
  const other = await s.request.post('/introspect').set('Authorization', basic(clientId, secret)).type('form').send(formBody(token, { client_id: 'someone-else' }, []));
  t.is(other.status, 401);
});
