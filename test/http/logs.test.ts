import test from 'ava';
import { ADMIN_TOKEN, apiTest, basic } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';

const { logger, raw: lines } = captureLogs('debug');

apiTest(
  'no token, client secret or admin credential ever reaches a log line',
  async (t, s) => {
    const secrets: string[] = [ADMIN_TOKEN];
    const basicClient = await s.admin.createClient();
    const postClient = await s.admin.createClient({ token_endpoint_auth_method: 'client_secret_post' });
    secrets.push(basicClient.client_secret, postClient.client_secret);
    await s.admin.upsertCustomer('c1');
    const tokens = [
      (await s.admin.issueToken({ customer_id: 'c1', site_id: 's' })).auth_token,
      (await s.admin.issueToken({ customer_id: 'c1', format: 'opaque' })).auth_token,
    ];
    secrets.push(...tokens);
    const auth = basic(basicClient.client_id, basicClient.client_secret);
    const wrongSecret = 'wrong-secret-that-must-not-be-logged';
    secrets.push(wrongSecret);
    for (const token of tokens) {
      await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
      await s.request.post('/introspect').type('form').send({ token, client_id: postClient.client_id, client_secret: postClient.client_secret });
      await s.request.post('/introspect').set('Authorization', basic(basicClient.client_id, wrongSecret)).type('form').send({ token });
      await s.request.post(`/introspect?token=${token}`).set('Authorization', auth).type('form').send({});
      await s.request.post('/introspect').set('Authorization', auth).type('form').send(`token=${token}&token=${token}`);
      await s.request.post('/api/v1/auth/token/validate').set('Authorization', auth).send({ auth_token: token });
      await s.request.post('/api/v1/auth/token/validate').set('Authorization', auth).set('Content-Type', 'application/json').send(`{"auth_token":"${token}`);
      await s.request.post('/revoke').set('Authorization', auth).type('form').send({ token });
      await s.request.post('/admin/tokens/revoke').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ auth_token: token });
      await s.request.post('/admin/tokens/revoke').set('Authorization', `Bearer ${token}`).send({ auth_token: token });
    }
    t.true(lines.length > 20, `expected a full log, got ${lines.length} lines`);
    t.true(lines.some((l) => l.includes('"event":"token.revoked"')));
    t.true(lines.some((l) => l.includes('"event":"admin.auth_failed"')));
    for (const line of lines) {
      for (const secret of secrets) t.false(line.includes(secret), `a log line holds a secret: ${line.slice(0, 120)}`);
    }
  },
  { logger },
);

test('every line carries its own time as RFC 3339 UTC, to the millisecond', async (t) => {
  const { logger: timed, lines: parsed } = captureLogs('info');
  const before = Date.now();
  timed.info('first');
  timed.info('same millisecond, most likely');
  // Time passing is what is tested. Timers may fire a millisecond early by the wall clock: wait on the clock itself.
  while (Date.now() < before + 5) await new Promise((resolve) => setTimeout(resolve, 1));
  timed.info('later');
  const after = Date.now();
  const times = parsed.map((l) => l.time as string);
  for (const time of times) {
    t.regex(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const ms = Date.parse(time);
    t.true(ms >= before && ms <= after, `${time} outside the test's span`);
  }
  t.true(Date.parse(times[2]!) >= before + 5, 'a later line has its own, later time');
  t.true(Date.parse(times[2]!) > Date.parse(times[0]!), 'a later line has a later time');
});
