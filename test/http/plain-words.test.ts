import type { ExecutionContext } from 'ava';
import { ADMIN_TOKEN, apiTest, standardSetup, type TestServer } from '../helpers/app.js';

/**
 * Every 400 of the admin API and the validation endpoint says which field is
 * wrong and how, in plain words: never the schema library's own text, never
 * the value that was sent.
 */

const A = `Bearer ${ADMIN_TOKEN}`;

/** The schema library's phrasing, which an operator or integrator should never have to read. */
const JARGON = /Invalid input|Invalid option|expected|received|Zod|Too (small|big)|nonoptional|\bNaN\b|safeint|\[object/i;

interface Case {
  method: 'post' | 'put';
  path: string;
  body: string;
  /** The error_description, exactly. */
  says: string;
}

const SECRET_LOOKING = 'eyJhbGciOiJFUzI1NiJ9/secret+value sent';

const CASES: Case[] = [
  // Not an object at all.
  ...['7', 'null', '[]', '"text"', 'true', '[{"customer_id":"c1"}]'].flatMap((body): Case[] => [
    { method: 'post', path: '/admin/tokens', body, says: 'the body must be a JSON object' },
    { method: 'post', path: '/admin/clients', body, says: 'the body must be a JSON object' },
    { method: 'put', path: '/admin/customers/c1', body, says: 'the body must be a JSON object' },
  ]),
  { method: 'post', path: '/admin/tokens/revoke', body: '7', says: 'the body must hold auth_token (the token) or jti (its grant id, 1-256 characters)' },
  { method: 'post', path: '/admin/tokens/revoke', body: '{}', says: 'the body must hold auth_token (the token) or jti (its grant id, 1-256 characters)' },
  { method: 'post', path: '/admin/tokens/revoke', body: '{"jti": 5}', says: 'the body must hold auth_token (the token) or jti (its grant id, 1-256 characters)' },
  // Wrong types and values, field by field.
  { method: 'post', path: '/admin/tokens', body: '{}', says: 'customer_id: is required' },
  { method: 'post', path: '/admin/tokens', body: '{"customer_id": 5}', says: 'customer_id: must be a string' },
  { method: 'post', path: '/admin/tokens', body: '{"customer_id": {"$ne": null}}', says: 'customer_id: must be a string' },
  { method: 'post', path: '/admin/tokens', body: `{"customer_id": "${SECRET_LOOKING}"}`, says: 'customer_id: must be 1-128 characters of A-Z a-z 0-9 . _ : @ -' },
  { method: 'post', path: '/admin/tokens', body: '{"customer_id": "c1", "expires_in": "60"}', says: 'expires_in: must be a number' },
  { method: 'post', path: '/admin/tokens', body: '{"customer_id": "c1", "expires_in": 1.5}', says: 'expires_in: must be a whole number' },
  { method: 'post', path: '/admin/tokens', body: '{"customer_id": "c1", "expires_in": 0}', says: 'expires_in: must be greater than 0' },
  { method: 'post', path: '/admin/tokens', body: '{"customer_id": "c1", "expires_in": 1e300}', says: 'expires_in: must be at most 9007199254740991' },
  { method: 'post', path: '/admin/tokens', body: '{"customer_id": "c1", "format": "saml"}', says: 'format: must be one of jwt, opaque' },
  { method: 'post', path: '/admin/tokens', body: '{"customer_id": "c1", "site_id": 7}', says: 'site_id: must be a string' },
  { method: 'post', path: '/admin/clients', body: '{}', says: 'name (or client_name) is required' },
  { method: 'post', path: '/admin/clients', body: '{"name": ""}', says: 'name: must not be empty' },
  { method: 'post', path: '/admin/clients', body: `{"name": "${'n'.repeat(201)}"}`, says: 'name: must be at most 200 characters' },
  { method: 'post', path: '/admin/clients', body: '{"name": "x", "reason_codes": "yes"}', says: 'reason_codes: must be true or false' },
  { method: 'post', path: '/admin/clients', body: '{"name": "x", "site_ids": "a"}', says: 'site_ids: must be a JSON array' },
  { method: 'post', path: '/admin/clients', body: '{"name": "x", "site_ids": ["ok", "$bad"]}', says: 'site_ids.1: must be 1-128 characters of A-Z a-z 0-9 . _ : @ -' },
  { method: 'post', path: '/admin/clients', body: '{"name": "x", "token_endpoint_auth_method": "none"}', says: 'token_endpoint_auth_method: must be one of client_secret_basic, client_secret_post, private_key_jwt, client_secret_jwt' },
  { method: 'put', path: '/admin/customers/c1', body: '{"status": "gone"}', says: 'status: must be one of active, disabled' },
  { method: 'put', path: '/admin/customers/c1', body: '{"email": 5}', says: 'email: must be a string' },
  { method: 'put', path: '/admin/customers/c1', body: `{"first_name": "${'f'.repeat(201)}"}`, says: 'first_name: must be at most 200 characters' },
  { method: 'put', path: '/admin/customers/a%20b', body: '{}', says: 'the customer id must be 1-128 characters of A-Z a-z 0-9 . _ : @ -' },
];

function plain(t: ExecutionContext, label: string, res: { status: number; body: Record<string, unknown> }, says: string): void {
  t.is(res.status, 400, label);
  t.is(res.body.error, 'invalid_request', label);
  const description = String(res.body.error_description);
  t.is(description, says, label);
  t.notRegex(description, JARGON, label);
  t.false(description.includes(SECRET_LOOKING), label);
}

apiTest('admin API: every refused body names the field and the problem in plain words', async (t, s: TestServer) => {
  for (const c of CASES) {
    const res = await s.request[c.method](c.path).set('Authorization', A).set('Content-Type', 'application/json').send(c.body);
    plain(t, `${c.method} ${c.path} ${c.body.slice(0, 60)}`, res, c.says);
  }
});

apiTest('validation endpoint: a body that is not an object, or a token that is not a string, is refused in plain words', async (t, s) => {
  const { auth } = await standardSetup(s);
  const cases: Array<[string, string]> = [
    ['7', 'the body must be a JSON object'],
    ['null', 'the body must be a JSON object'],
    ['[]', 'the body must be a JSON object'],
    ['"token"', 'the body must be a JSON object'],
    ['{"auth_token": 5}', 'auth_token: must be a string'],
    ['{"auth_token": ["a"]}', 'auth_token: must be a string'],
    ['{"auth_token": {"$ne": null}}', 'auth_token: must be a string'],
    ['{"auth_token": "t", "client_id": 5}', 'client_id: must be a string'],
  ];
  for (const [body, says] of cases) {
    const res = await s.request.post('/api/v1/auth/token/validate').set('Authorization', auth).set('Content-Type', 'application/json').send(body);
    plain(t, body, res, says);
  }
});
