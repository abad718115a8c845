import test from 'ava';
import fc from 'fast-check';
import type { z } from 'zod';
import { componentSchemas, examples } from '../../src/http/openapi.js';
import * as requests from '../../src/http/schemas/requests.js';
import { Conformance } from '../helpers/openapi.js';

/**
 * The document's schemas are generated from the parsers' zod schemas; these
 * tests check that the two say the same thing: every request body the
 * document accepts, the parser accepts, and the other way round.
 */

type Json = Record<string, unknown>;
const conformance = new Conformance();
const doc = conformance.doc;

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

interface BodyCase {
  method: string;
  path: string;
  mediaType: string;
  parser: z.ZodType;
  accepted: unknown[];
  refused: unknown[];
}

const long = (n: number) => 'x'.repeat(n);

/** Every request body of the API, with bodies the parser accepts and refuses. */
const cases: BodyCase[] = [
  {
    method: 'post', path: '/admin/clients', mediaType: JSON_TYPE, parser: requests.newClientBody,
    accepted: [
      { name: 'Energy Intel' }, { client_name: 'Energy Intel' }, { name: 'a', client_name: 'b' }, { name: long(200) },
      { name: 'a', site_ids: null }, { name: 'a', site_ids: [] }, { name: 'a', site_ids: ['site-a', 'c:42@x'] },
      { name: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://keys.example/jwks.json' },
      // Checked in depth when the client is built, not by the schema.
      { name: 'a', jwks: null, jwks_uri: 5, introspection_signed_response_alg: ['x'] },
      { name: 'a', reason_codes: false, unknown_member: 1 }, { name: 'a', customer_profile: true }, { name: 'a', customer_profile: false },
    ],
    refused: [
      {}, { site_ids: null }, { name: '' }, { client_name: '' }, { name: null }, { name: 5 }, { name: long(201) },
      { name: 'a', token_endpoint_auth_method: 'none' }, { name: 'a', token_endpoint_auth_method: '' },
      { name: 'a', reason_codes: 'true' }, { name: 'a', reason_codes: null }, { name: 'a', site_ids: [''] },
      { name: 'a', customer_profile: 'true' }, { name: 'a', customer_profile: null }, { name: 'a', customer_profile: 1 },
      { name: 'a', site_ids: ['a b'] }, { name: 'a', site_ids: 'site-a' }, { name: 'a', site_ids: [long(129)] },
      null, [], 'Energy Intel', 42,
    ],
  },
  {
    method: 'put', path: '/admin/customers/{id}', mediaType: JSON_TYPE, parser: requests.customerBody,
    accepted: [
      {}, { status: 'active' }, { status: 'disabled', email: null, first_name: null, last_name: null },
      { email: '' }, { first_name: '' }, { email: long(320), first_name: long(200) }, { other: [1] },
      { username: 'ada.lovelace' }, { username: null }, { username: long(255) },
    ],
    refused: [
      { status: 'deleted' }, { status: '' }, { status: null }, { email: long(321) }, { first_name: long(201) },
      { last_name: 5 }, { email: ['a'] }, { username: '' }, { username: long(256) }, { username: 5 }, null, [], 'active',
    ],
  },
  {
    method: 'post', path: '/admin/tokens', mediaType: JSON_TYPE, parser: requests.newTokenBody,
    accepted: [
      { customer_id: 'c42' }, { customer_id: 'c42', site_id: null }, { customer_id: 'c42', site_id: 'energy-intel', client_id: 'open-login' },
      { customer_id: 'c42', expires_in: 1, format: 'opaque' }, { customer_id: long(128), expires_in: 2 ** 53 - 1 }, { customer_id: 'c42', x: 1 },
      { customer_id: 'c42', audience: 'https://api.example/' }, { customer_id: 'c42', audience: ['https://a.example/', 'urn:example:b'] },
      { customer_id: 'c42', audience: `https://a.example/${long(237)}` }, { customer_id: 'c42', audience: ['https://[::1]:8443/p?q=%20'] },
      { customer_id: 'c42', audience: ['urn:a', 'urn:b', 'urn:c', 'urn:d', 'urn:e'] },
    ],
    refused: [
      {}, { customer_id: '' }, { customer_id: null }, { customer_id: 'a b' }, { customer_id: long(129) }, { customer_id: 42 },
      { customer_id: 'c42', site_id: '' }, { customer_id: 'c42', client_id: null }, { customer_id: 'c42', expires_in: 0 },
      { customer_id: 'c42', expires_in: -5 }, { customer_id: 'c42', expires_in: 1.5 }, { customer_id: 'c42', expires_in: '60' },
      { customer_id: 'c42', expires_in: 2 ** 60 }, { customer_id: 'c42', format: 'paseto' }, { customer_id: 'c42', format: null },
      { customer_id: 'c42', audience: '' }, { customer_id: 'c42', audience: 'api.example' }, { customer_id: 'c42', audience: 'https://a.example/#f' },
      { customer_id: 'c42', audience: 'https://a.example/ x' }, { customer_id: 'c42', audience: 'https://a.example/%zz' }, { customer_id: 'c42', audience: [] },
      { customer_id: 'c42', audience: ['urn:a', 'urn:a'] }, { customer_id: 'c42', audience: ['urn:a', 'urn:b', 'urn:c', 'urn:d', 'urn:e', 'urn:f'] },
      { customer_id: 'c42', audience: `https://a.example/${long(238)}` }, { customer_id: 'c42', audience: null }, { customer_id: 'c42', audience: [5] },
      { customer_id: 'c42', audience: { uri: 'urn:a' } }, { customer_id: 'c42', audience: 'https://ä.example/' },
      null, [], 'c42',
    ],
  },
  {
    method: 'post', path: '/admin/tokens/revoke', mediaType: JSON_TYPE, parser: requests.revokeBody,
    accepted: [
      { jti: 'qau6uoUy1UplKQfVCYv1kw' }, { auth_token: 'eyJ...' }, { auth_token: 'a', jti: 'b' }, { auth_token: '', jti: 'b' },
      { jti: long(256) }, { jti: 'a', other: null },
    ],
    refused: [{}, { jti: '' }, { auth_token: '' }, { jti: long(257) }, { jti: null }, { auth_token: 5 }, { auth_token: '', jti: '' }, null, [], 'x'],
  },
  {
    method: 'post', path: '/api/v1/auth/token/validate', mediaType: JSON_TYPE, parser: requests.validationBody,
    accepted: [
      { auth_token: 'eyJ...' }, { auth_token: 'eyJ...', client_id: 'a', client_secret: 'b' },
      { auth_token: 'x', client_assertion: 'a.b.c', client_assertion_type: 'urn:other' },
      // A missing or empty token is refused after client authentication, not by the schema.
      {}, { auth_token: '' }, { client_id: '', client_secret: '' }, { auth_token: 'x', other: {} },
    ],
    refused: [
      { auth_token: null }, { auth_token: 5 }, { auth_token: ['x'] }, { auth_token: 'x', client_id: null },
      { auth_token: 'x', client_secret: 1 }, { auth_token: 'x', client_assertion_type: false }, null, [], 'eyJ...',
    ],
  },
  {
    method: 'post', path: '/introspect', mediaType: FORM_TYPE, parser: requests.introspectionForm,
    accepted: [
      { token: 'x' }, { token: 'x', token_type_hint: 'access_token' }, { token: 'x', token_type_hint: 'anything' },
      { token: 'x', client_id: 'a', client_secret: 'b' }, { token: 'x', client_id: '', client_secret: '', client_assertion: '' },
      { token: long(5000) }, { token: 'x', other: 'y' },
    ],
    refused: [{}, { token: '' }, { token_type_hint: 'access_token' }, { client_id: 'a', client_secret: 'b' }],
  },
  {
    method: 'post', path: '/revoke', mediaType: FORM_TYPE, parser: requests.revocationForm,
    accepted: [{ token: 'x' }, { token: 'x', token_type_hint: 'refresh_token', client_assertion_type: 'urn:other' }, { token: 'x', other: '' }],
    refused: [{}, { token: '' }, { client_assertion: 'a.b.c' }],
  },
];

/** The members a schema names, following `$ref`s and alternatives. */
function memberNames(schema: Json, into = new Set<string>()): Set<string> {
  if (typeof schema.$ref === 'string') return memberNames(resolve(schema.$ref), into);
  for (const name of Object.keys((schema.properties as Json | undefined) ?? {})) into.add(name);
  for (const key of ['anyOf', 'oneOf', 'allOf']) for (const branch of (schema[key] as Json[] | undefined) ?? []) memberNames(branch, into);
  return into;
}

function resolve(pointer: string): Json {
  let node: unknown = doc;
  for (const part of pointer.replace(/^#?\//, '').split('/')) node = (node as Json)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return node as Json;
}

/**
 * Values that sit on the edges of the schemas: empty and missing, null, the
 * wrong type, lengths and numbers at and past the limits, enum members. No
 * string near a length limit has characters outside the BMP: zod counts
 * UTF-16 units and JSON Schema code points, so at a limit they differ there.
 */
const jsonAtoms: unknown[] = [
  null, '', 'x', 'c42', 'a b', 'é', '😀', long(128), long(129), long(200), long(201), long(256), long(257), long(320), long(321),
  0, 1, -1, 1.5, 60, 2 ** 53 - 1, 2 ** 60, true, false, [], {}, ['site-a'], [''], ['a b'], [1],
  'active', 'disabled', 'jwt', 'opaque', 'client_secret_basic', 'client_secret_post', 'private_key_jwt', 'client_secret_jwt',
];
const formAtoms = ['', 'x', 'a b', 'é', long(5000), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'];

/** Where the parser and the document's schema disagree on a body. */
function disagreement(parser: z.ZodType, pointer: string, body: unknown): string | undefined {
  const parsed = parser.safeParse(body).success;
  const errors = conformance.errors(pointer, body);
  if (parsed === (errors.length === 0)) return undefined;
  return `${JSON.stringify(body)?.slice(0, 200)}: the parser ${parsed ? 'accepts' : 'refuses'} it, the document ${parsed ? `refuses it (${errors.join('; ')})` : 'accepts it'}`;
}

for (const c of cases) {
  test(`${c.method.toUpperCase()} ${c.path}: the document's request schema and the parser accept and refuse the same bodies`, (t) => {
    const pointer = conformance.requestSchema(c.method, c.path, c.mediaType);
    if (!pointer) return t.fail(`no ${c.mediaType} request body documented`);
    for (const body of c.accepted) {
      t.true(c.parser.safeParse(body).success, `the parser accepts ${JSON.stringify(body)}`);
      t.deepEqual(conformance.errors(pointer, body), [], `the document accepts ${JSON.stringify(body)}`);
    }
    for (const body of c.refused) {
      t.false(c.parser.safeParse(body).success, `the parser refuses ${JSON.stringify(body)}`);
      t.notDeepEqual(conformance.errors(pointer, body), [], `the document refuses ${JSON.stringify(body)}`);
    }

    // Bodies made of the schema's members (and one it does not name) with edge values.
    const names = [...memberNames(resolve(pointer)), 'unnamed_member'];
    const value = c.mediaType === FORM_TYPE ? fc.constantFrom(...formAtoms) : fc.constantFrom(...jsonAtoms);
    const members = fc.dictionary(fc.constantFrom(...names), value, { maxKeys: names.length });
    const body = c.mediaType === FORM_TYPE ? members : fc.oneof({ arbitrary: members, weight: 9 }, { arbitrary: value, weight: 1 });
    let found: string | undefined;
    fc.assert(fc.property(body, (b) => (found = disagreement(c.parser, pointer, b)) === undefined), { numRuns: 1500, seed: 7662 });
    t.is(found, undefined);
  });
}

test('every request body in the document is among the cases above', (t) => {
  const documented: string[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(item)) {
      const content = ((op as Json).requestBody as { content?: Json } | undefined)?.content ?? {};
      for (const mediaType of Object.keys(content)) documented.push(`${method} ${path} ${mediaType}`);
    }
  }
  t.deepEqual(documented.sort(), cases.map((c) => `${c.method} ${c.path} ${c.mediaType}`).sort());
});

test('the customer id in paths is the parser\'s identifier', (t) => {
  for (const path of ['/admin/customers/{id}', '/admin/customers/{id}/revoke-tokens']) {
    const index = ((doc.paths as Record<string, Json>)[path]!.parameters as Json[]).findIndex((p) => p.name === 'id');
    const pointer = `/paths/${path.replace(/\//g, '~1')}/parameters/${index}/schema`;
    for (const id of ['c42', 'a.b_c:d@e-f', long(128), '', 'a b', long(129), 'ü', 'c42/x', '$ne']) {
      t.is(disagreement(requests.id, pointer, id), undefined);
    }
  }
});

test('the comparison does find a disagreement (the checks above can fail)', (t) => {
  const pointer = conformance.requestSchema('post', '/admin/clients', JSON_TYPE)!;
  t.truthy(disagreement(requests.newTokenBody, pointer, { name: 'Energy Intel' }));
  t.truthy(disagreement(requests.newTokenBody, pointer, { customer_id: 'c42' }));
  t.is(disagreement(requests.newClientBody, pointer, { name: 'Energy Intel' }), undefined);
});

/** Every example in the document with the pointer of the schema it illustrates. */
function documentExamples(): { where: string; schema: string; value: unknown }[] {
  const found: { where: string; schema: string; value: unknown }[] = [];
  const visit = (node: unknown, pointer: string, inSchema: boolean) => {
    if (!node || typeof node !== 'object') return;
    const n = node as Json;
    if (inSchema && Array.isArray(n.examples)) {
      // JSON Schema `examples`: values of the schema that holds them.
      n.examples.forEach((value, i) => found.push({ where: `${pointer}/examples/${i}`, schema: pointer, value }));
    } else if (!inSchema && n.schema && typeof n.schema === 'object') {
      // A media type or parameter: `example`, or named `examples`.
      if ('example' in n) found.push({ where: `${pointer}/example`, schema: `${pointer}/schema`, value: n.example });
      for (const [name, ex] of Object.entries((n.examples as Record<string, { value: unknown }> | undefined) ?? {})) {
        found.push({ where: `${pointer}/examples/${name}`, schema: `${pointer}/schema`, value: ex.value });
      }
    }
    for (const [key, value] of Object.entries(n)) {
      const child = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      visit(value, child, inSchema || key === 'schema' || pointer === '/components/schemas');
    }
  };
  visit(doc, '', false);
  return found;
}

test('every example in the document matches its schema in the document and its zod schema', (t) => {
  const found = documentExamples();
  let zodChecked = 0;
  for (const { where, schema, value } of found) {
    t.deepEqual(conformance.errors(schema, value), [], where);
    const target = resolve(schema).$ref;
    const name = typeof target === 'string' ? target.replace('#/components/schemas/', '') : schema.replace('/components/schemas/', '');
    const parser = (componentSchemas as Record<string, z.ZodType>)[name];
    if (parser) {
      t.true(parser.safeParse(value).success, `${where}: the zod schema ${name} refuses it`);
      zodChecked++;
    }
  }
  t.true(found.length >= 20, `only ${found.length} examples found`);
  t.true(zodChecked >= 18, `only ${zodChecked} examples checked against zod schemas`);
  // Each README example is shown in the document.
  const shown = new Set(found.map((f) => JSON.stringify(f.value)));
  for (const [name, example] of Object.entries(examples)) t.true(shown.has(JSON.stringify(example)), `example ${name} is in the document`);
});

test('a wrong example is refused (the check above can fail)', (t) => {
  const wrong = { ...examples.issuedToken, expires_at: 'tomorrow' };
  t.false(componentSchemas.IssuedToken.safeParse(wrong).success);
  t.notDeepEqual(conformance.errors('/components/schemas/IssuedToken', wrong), []);
});

test('the components are generated whole: no shared definitions left outside them', (t) => {
  const schemas = (doc.components as { schemas: Json }).schemas;
  t.deepEqual(Object.keys(schemas).sort(), Object.keys(componentSchemas).sort());
  const text = JSON.stringify(doc);
  for (const leftover of ['"$defs"', '"$schema"', '"$id"', '__shared']) t.false(text.includes(leftover), leftover);
});
