import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import supertest from 'supertest';
import { FixedClock } from '../../src/core/clock.js';
import {
  generateKeyRecord,
  KEY_FILE,
  KeyFileError,
  KeyStore,
  KeyStoreHolder,
  readKeyFile,
  rotateKeyRecords,
  stageKeyRecords,
  writeKeyFile,
} from '../../src/keys/keystore.js';
import { KeyFileReloader } from '../../src/keys/reload.js';
import { ADMIN_TOKEN, backends, basic, buildTestApp, START } from '../helpers/app.js';
import { captureLogs, readLogLines } from '../helpers/logs.js';
import { whenEmitted } from '../helpers/wait.js';

interface LogLine {
  level: string;
  msg: string;
  event?: string;
  [key: string]: unknown;
}

/** An app whose keys come from a key file in a temporary KEYS_DIR, with a reloader polling it. */
async function rotatingServer(t: ExecutionContext, backend: (typeof backends extends () => (infer B)[] ? B : never), intervalMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'open-login-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new FixedClock(START);
  writeKeyFile(dir, [await generateKeyRecord('ES256', clock.now())]);
  const { store, cleanup } = await backend.make();
  const { app, keyHolder, keyOptions } = await buildTestApp({ env: { KEYS_DIR: dir }, store, clock, keyRecords: readKeyFile(dir)!, keyHolder: true });
  const holder = keyHolder!;
  const { logger, lines: logged, waitForLine } = captureLogs();
  const lines = logged as LogLine[];
  const reloader = new KeyFileReloader({ dir, holder, keyOptions, logger, intervalMs });
  await reloader.start();
  t.teardown(() => reloader.stop());
  const server: Server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await cleanup();
  });
  const request = supertest.agent(server);
  const admin = (path: string, body: object) => request.post(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(body);
  const client = (await admin('/admin/clients', { name: 'gw' })).body as { client_id: string; client_secret: string };
  await request.put('/admin/customers/c1').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ status: 'active' });
  const issue = async () => (await admin('/admin/tokens', { customer_id: 'c1' })).body.auth_token as string;
  const auth = basic(client.client_id, client.client_secret);
  const introspect = (token: string) => request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  const rotate = async () => {
    const rotated = await rotateKeyRecords(readKeyFile(dir)!, 'ES256', clock.now());
    writeKeyFile(dir, rotated);
    return rotated[0]!.kid;
  };
  /** Stages a next key in the file (as `keys rotate` does), signing from `activatesAt`. */
  const stage = async (activatesAt: Date, alg: 'ES256' | 'EdDSA' = 'ES256') => {
    const staged = await stageKeyRecords(readKeyFile(dir)!, alg, clock.now(), activatesAt);
    writeKeyFile(dir, staged);
    return staged[0]!.kid;
  };
  const signer = (await admin('/admin/clients', { name: 'signed', introspection_signed_response_alg: 'ES256' })).body as { client_id: string; client_secret: string };
  /** A signed introspection answer (RFC 9701), as the JWT text. */
  const introspectSigned = async (token: string) =>
    (
      await request
        .post('/introspect')
        .set('Authorization', basic(signer.client_id, signer.client_secret))
        .set('Accept', 'application/token-introspection+jwt')
        .type('form')
        .send({ token })
        .buffer(true)
        .parse((r, done) => {
          let text = '';
          r.on('data', (chunk: Buffer) => (text += chunk.toString()));
          r.on('end', () => done(null, text));
        })
    ).body as string;
  return { dir, clock, holder, reloader, lines, waitForLine, request, issue, introspect, introspectSigned, rotate, stage };
}

for (const backend of backends()) {
  test(`[${backend.name}] key rotation: a rotated key file is picked up while old and new tokens are introspected concurrently`, async (t) => {
    const s = await rotatingServer(t, backend, 50);
    const oldKid = s.holder.current.current.kid;
    const oldTokens = [await s.issue(), await s.issue()];
    t.is(decodeProtectedHeader(oldTokens[0]!).kid, oldKid);

    // Introspection keeps running on four lanes while the file is rotated and reloaded.
    const newTokens: string[] = [];
    let stop = false;
    let checked = 0;
    const progress = new EventEmitter();
    const failures: string[] = [];
    const lane = async (n: number) => {
      while (!stop) {
        const pool = [...oldTokens, ...newTokens];
        const token = pool[(checked + n) % pool.length]!;
        const res = await s.introspect(token);
        checked += 1;
        progress.emit('checked');
        if (res.status !== 200 || res.body.active !== true) failures.push(`${res.status} ${JSON.stringify(res.body)}`);
      }
    };
    const lanes = [0, 1, 2, 3].map(lane);

    // Counted, not timed: the machine may be slow, the sequence must be the same.
    t.true(await whenEmitted(progress, 'checked', () => checked >= 20, 30_000), 'introspections ran before the rotation');
    const before = checked;
    const newKid = await s.rotate();
    // The reloader logs the swap once the new keys are in use.
    await s.waitForLine((l) => l.event === 'keys.reloaded' && l.kid === newKid, 5000);
    t.true(s.holder.current.current.kid === newKid, 'the periodic check picked up the new file');
    const swappedAt = checked;
    newTokens.push(await s.issue(), await s.issue());
    t.true(await whenEmitted(progress, 'checked', () => checked >= swappedAt + 40, 30_000), 'introspections ran after the rotation');
    stop = true;
    await Promise.all(lanes);

    t.deepEqual(failures, [], 'every introspection stayed active through the rotation');
    t.true(before >= 20 && checked >= swappedAt + 40, `introspections ran throughout (${checked})`);
    t.not(newKid, oldKid);
    for (const token of newTokens) t.is(decodeProtectedHeader(token).kid, newKid, 'new tokens are signed with the new key');
    const jwks = (await s.request.get('/jwks.json')).body as { keys: { kid: string }[] };
    t.deepEqual(jwks.keys.map((k) => k.kid).sort(), [newKid, oldKid].sort(), '/jwks.json shows both keys');
    const meta = (await s.request.get('/.well-known/oauth-authorization-server')).body;
    t.deepEqual(meta.introspection_signing_alg_values_supported, ['ES256']);
    const reloaded = s.lines.find((l) => l.event === 'keys.reloaded');
    t.is(reloaded?.kid, newKid);
    t.is(reloaded?.previous_kid, oldKid);
    t.false(JSON.stringify(s.lines).includes('"d":'), 'no private key member is logged');
  });

  test(`[${backend.name}] key rotation: a broken key file is logged and the keys in use stay`, async (t) => {
    const s = await rotatingServer(t, backend, 0);
    const kid = s.holder.current.current.kid;
    const token = await s.issue();
    const path = join(s.dir, KEY_FILE);
    const broken = ['{"keys": [', JSON.stringify({ keys: [] }), JSON.stringify({ keys: [{ kid: 'x', alg: 'ES256', status: 'current', created_at: '', jwk: { kty: 'EC' } }] })];
    for (const content of broken) {
      writeFileSync(path, content);
      t.false(await s.reloader.reload('SIGHUP'));
      t.is(s.holder.current.current.kid, kid);
      t.is((await s.introspect(token)).body.active, true);
    }
    rmSync(path);
    t.false(await s.reloader.reload('SIGHUP'), 'a missing file keeps the keys too');
    const failures = s.lines.filter((l) => l.event === 'keys.reload_failed');
    t.is(failures.length, 4);
    t.true(failures.every((l) => l.level === 'error' && l.kid === kid && l.trigger === 'SIGHUP'));
    t.deepEqual(((await s.request.get('/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid), [kid]);
  });

  test(`[${backend.name}] key rotation: reload() swaps at once; an unchanged file is not reloaded by the periodic check`, async (t) => {
    const s = await rotatingServer(t, backend, 0);
    t.false(await s.reloader.checkForChange(), 'nothing changed yet');
    const newKid = await s.rotate();
    t.true(await s.reloader.checkForChange());
    t.is(s.holder.current.current.kid, newKid);
    t.false(await s.reloader.checkForChange(), 'the same file is not loaded twice');
    const token = await s.issue();
    t.is(decodeProtectedHeader(token).kid, newKid);
  });
}

for (const backend of backends()) {
  test(`[${backend.name}] staged rotation: the next key is in /jwks.json before it signs, and signs from its activation time with no reload`, async (t) => {
    const s = await rotatingServer(t, backend, 0);
    const oldKid = s.holder.current.current.kid;
    const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid;
    const oldToken = await s.issue();
    const activatesAt = new Date(s.clock.now().getTime() + 100_000);
    const nextKid = await s.stage(activatesAt);
    t.true(await s.reloader.checkForChange());

    // What a verifier caches right after the reload, and keeps until activation and beyond.
    const published = (await s.request.get('/jwks.json')).body as JSONWebKeySet;
    t.deepEqual(published.keys.map((k) => k.kid).sort(), [nextKid, oldKid].sort(), 'the next key is published at once');
    const cached = createLocalJWKSet(published);

    const issuedBefore = [await s.issue()];
    t.is(kidOf(issuedBefore[0]!), oldKid, 'a token issued before activation carries the current kid');
    const answeredBefore = [await s.introspectSigned(oldToken)];
    t.is(kidOf(answeredBefore[0]!), oldKid, 'so does a signed answer');
    s.clock.set(activatesAt.getTime() - 1);
    issuedBefore.push(await s.issue());
    answeredBefore.push(await s.introspectSigned(oldToken));
    t.deepEqual([...issuedBefore, ...answeredBefore].map(kidOf), [oldKid, oldKid, oldKid, oldKid], 'not a millisecond early');

    s.clock.set(activatesAt);
    const reloads = s.lines.filter((l) => l.event === 'keys.reloaded').length;
    const issuedAfter = await s.issue();
    const answeredAfter = await s.introspectSigned(issuedAfter);
    t.is(kidOf(issuedAfter), nextKid, 'from its activation time new tokens carry the new kid');
    t.is(kidOf(answeredAfter), nextKid, 'and signed answers too');
    t.is(s.lines.filter((l) => l.event === 'keys.reloaded').length, reloads, 'with no reload');

    // Both keys verify throughout: here, and for a verifier that never refetched its key set.
    for (const token of [oldToken, ...issuedBefore, issuedAfter]) {
      t.is((await s.introspect(token)).body.active, true);
      await t.notThrowsAsync(jwtVerify(token, cached, { currentDate: s.clock.now() }));
    }
    for (const answer of [...answeredBefore, answeredAfter]) await t.notThrowsAsync(jwtVerify(answer, cached, { currentDate: s.clock.now() }));
    const jwks = (await s.request.get('/jwks.json')).body as JSONWebKeySet;
    t.deepEqual(jwks.keys.map((k) => k.kid).sort(), [nextKid, oldKid].sort(), 'the retired key stays listed');
  });
}

test('staged rotation: a next key verifies before it signs; the current key retires at its activation time and verifies MAX_TOKEN_TTL_SECONDS more', async (t) => {
  const clock = new FixedClock(START);
  const options = { legacyHs256Secret: null, maxTokenTtlSeconds: 3600, clock };
  const first = await generateKeyRecord('ES256', clock.now());
  const activatesAt = new Date(START.getTime() + 100_000);
  const records = await stageKeyRecords([first], 'EdDSA', clock.now(), activatesAt);
  const next = records[0]!;
  t.like(next, { status: 'next', activates_at: activatesAt.toISOString(), alg: 'EdDSA' });
  const store = await KeyStore.fromRecords(records, options);

  t.is(store.current.kid, first.kid);
  t.like(store.next, { kid: next.kid, alg: 'EdDSA' });
  t.is(store.next?.activatesAt.getTime(), activatesAt.getTime());
  t.notThrows(() => store.keyFor({ alg: 'EdDSA', kid: next.kid }), 'a server that switched first is believed');
  t.deepEqual(store.algorithms.sort(), ['ES256', 'EdDSA'].sort());
  t.deepEqual(store.publicJwks().keys.map((k) => k.kid), [next.kid, first.kid]);
  t.false(JSON.stringify(store.publicJwks()).includes('"d"'), 'no private member is published');

  clock.set(activatesAt);
  t.is(store.current.kid, next.kid);
  t.is(store.current.alg, 'EdDSA');
  t.is(store.next, null);
  t.is(({ ...store } as { current: { kid: string } }).current.kid, next.kid, 'a copy of the store holds the switched key');
  clock.set(activatesAt.getTime() + 3600_000 - 1);
  t.notThrows(() => store.keyFor({ alg: 'ES256', kid: first.kid }));
  clock.set(activatesAt.getTime() + 3600_000);
  t.throws(() => store.keyFor({ alg: 'ES256', kid: first.kid }), { message: 'no key matches the token header' });
  t.deepEqual(store.publicJwks().keys.map((k) => k.kid), [next.kid], 'the retired key leaves /jwks.json when its tokens can have expired');

  // Loaded after its time, the next key is current from the start.
  const late = await KeyStore.fromRecords(records, options);
  t.is(late.current.kid, next.kid);
  t.is(late.next, null);
  await t.throwsAsync(stageKeyRecords(records, 'ES256', START, activatesAt), { instanceOf: KeyFileError, message: /is already next/ });
});

test('staged rotation: the reloader logs the reload with the next key, and keys.activated when it starts signing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'open-login-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The timer runs on real time, the switch on the server's clock: this one moves only when told.
  const clock = new FixedClock(START);
  const first = await generateKeyRecord('ES256', clock.now());
  writeKeyFile(dir, [first]);
  const keyOptions = { legacyHs256Secret: null, maxTokenTtlSeconds: 3600, clock };
  const holder = new KeyStoreHolder(await KeyStore.fromRecords([first], keyOptions));
  const { logger, lines, waitForLine } = captureLogs();
  const reloader = new KeyFileReloader({ dir, holder, keyOptions, logger, intervalMs: 0 });
  await reloader.start();
  t.teardown(() => reloader.stop());
  const activatesAt = new Date(START.getTime() + 100);
  writeKeyFile(dir, await stageKeyRecords([first], 'ES256', clock.now(), activatesAt));
  const nextKid = readKeyFile(dir)![0]!.kid;
  t.true(await reloader.reload('SIGHUP'));
  t.like(lines.find((l) => (l as LogLine).event === 'keys.reloaded'), { kid: first.kid, next_kid: nextKid, activates_at: activatesAt.toISOString() });

  // The timer fires (after 100 ms of real time) before the clock reaches the activation time: it waits again.
  await new Promise((resolve) => setTimeout(resolve, 350));
  t.false(lines.some((l) => (l as LogLine).event === 'keys.activated'), 'not before its time');
  t.is(holder.current.current.kid, first.kid);

  clock.set(activatesAt);
  const activated = await waitForLine((l) => (l as LogLine).event === 'keys.activated', 10_000);
  t.like(activated, { kid: nextKid, previous_kid: first.kid });
  t.is(holder.current.current.kid, nextKid);
  await new Promise((resolve) => setTimeout(resolve, 250));
  t.is(lines.filter((l) => (l as LogLine).event === 'keys.activated').length, 1, 'logged once');
});

test('staged rotation: the metadata lists a next key of another algorithm until it signs', async (t) => {
  const clock = new FixedClock(START);
  const activatesAt = new Date(START.getTime() + 100_000);
  const keyRecords = await stageKeyRecords([await generateKeyRecord('ES256', clock.now())], 'EdDSA', clock.now(), activatesAt);
  const { app } = await buildTestApp({ clock, keyRecords });
  const metadata = async () => (await supertest(app.callback()).get('/.well-known/oauth-authorization-server')).body.introspection_signing_alg_values_supported as string[];
  t.deepEqual(await metadata(), ['ES256', 'EdDSA']);
  clock.set(activatesAt);
  t.deepEqual(await metadata(), ['EdDSA']);
});

test('key file: a next key needs a valid activates_at, and there is at most one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'open-login-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const current = await generateKeyRecord('ES256', START);
  const next = { ...(await generateKeyRecord('ES256', START)), status: 'next' as const };
  const other = { ...(await generateKeyRecord('ES256', START)), status: 'next' as const, activates_at: START.toISOString() };
  for (const [keys, message] of [
    [[next, current], /needs activates_at/],
    [[{ ...next, activates_at: 'soon' }, current], /needs activates_at/],
    [[{ ...next, activates_at: START.toISOString() }, other, current], /at most one key may be next/],
  ] as const) {
    writeFileSync(join(dir, KEY_FILE), JSON.stringify({ keys }));
    t.throws(() => readKeyFile(dir), { instanceOf: KeyFileError, message });
  }
  writeFileSync(join(dir, KEY_FILE), JSON.stringify({ keys: [current] }));
  t.is(readKeyFile(dir)!.length, 1, 'a file without a next key reads as before');
});

test('KeyStoreHolder: the view always answers from the current KeyStore', async (t) => {
  const clock = new FixedClock(START);
  const options = { legacyHs256Secret: null, maxTokenTtlSeconds: 3600, clock };
  const a = await KeyStore.fromRecords([await generateKeyRecord('ES256', clock.now())], options);
  const b = await KeyStore.fromRecords([await generateKeyRecord('EdDSA', clock.now())], options);
  const holder = new KeyStoreHolder(a);
  const view = holder.view;
  t.is(view.current.kid, a.current.kid);
  holder.swap(b);
  t.is(view.current.kid, b.current.kid);
  t.deepEqual(view.algorithms, ['EdDSA']);
  t.is(view.publicJwks().keys[0]!.kid, b.current.kid);
  t.notThrows(() => view.keyFor({ alg: 'EdDSA', kid: b.current.kid }));
  t.true(view instanceof KeyStore);
  t.is(({ ...view } as { current: { kid: string } }).current.kid, b.current.kid, 'a copy of the view holds the current fields');
  holder.swap(a);
  t.is(view.current.kid, a.current.kid);
});

/** The real server process: SIGHUP makes it reload the key file (no periodic check here). */
test('server process: SIGHUP reloads a rotated key file without a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'open-login-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeKeyFile(dir, [await generateKeyRecord('ES256', new Date())]);
  const oldKid = readKeyFile(dir)![0]!.kid;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', KEYS_DIR: dir, KEYS_RELOAD_INTERVAL_SECONDS: '0', MONGODB_URI: '', WORKERS: '1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    child.kill('SIGTERM');
  });
  const log = readLogLines(child.stdout);
  const listening = await log.waitForLine((l) => l.msg === 'listening', 20_000);
  t.truthy(listening, 'the server started');
  const port = listening!.port as number;
  const kids = async () => ((await (await fetch(`http://127.0.0.1:${port}/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid).sort();
  t.deepEqual(await kids(), [oldKid]);

  const rotated = await rotateKeyRecords(readKeyFile(dir)!, 'ES256', new Date());
  writeKeyFile(dir, rotated);
  child.kill('SIGHUP');
  t.truthy(await log.waitForLine((l) => l.event === 'keys.reloaded', 10_000), 'the server logged the reload');
  t.deepEqual(await kids(), [rotated[0]!.kid, oldKid].sort());
  t.is(child.exitCode, null, 'still running');
});
