/**
 * Checks beyond harness.ts's `checkGuide` that the nginx and Apache guide
 * tests share: nothing of the token reaches the upstream, the subject header
 * cannot be sent by the customer, and a token revoked after use stops working
 * once the gateway's cache lifetime has passed.
 */
import type { ExecutionContext } from 'ava';
import type { IntrospectionServer, Scenario, Upstream } from './harness.js';

export interface SendingGateway {
  /** Where the gateway listens, `http://127.0.0.1:PORT`. */
  url: string;
  send: (authorization: string | undefined) => Promise<{ status: number; body: string }>;
}

/** A customer who sends the subject header itself does not choose what the upstream reads. */
export async function checkSubjectHeaderIsTheGateways(
  t: ExecutionContext,
  scenario: Scenario,
  upstream: Upstream,
  gw: SendingGateway,
  header: string,
): Promise<void> {
  const before = upstream.requests.length;
  const res = await fetch(`${gw.url}/api/orders`, { headers: { authorization: `Bearer ${scenario.tokens.valid}`, [header]: 'someone-else' } });
  t.is(res.status, 200, `valid token with a ${header} of its own: admitted`);
  t.is(upstream.requests.at(before)?.headers[header.toLowerCase()], scenario.subject, `${header} set by the gateway`);
}

/**
 * A fresh token is admitted, revoked, still admitted from the gateway's cache
 * (checked only when the machine was quick enough to ask within the lifetime:
 * this shows the bound a guide states is real, not zero), then refused once
 * `cacheSeconds` have passed since its first use. Waits about cacheSeconds + 1 s.
 */
export async function checkRevocationAfterUse(
  t: ExecutionContext,
  server: IntrospectionServer,
  scenario: Scenario,
  upstream: Upstream,
  gw: SendingGateway,
  cacheSeconds: number,
): Promise<void> {
  const grant = (await server.admin('POST', '/admin/tokens', { customer_id: scenario.subject, site_id: 'energy-intel' })) as { auth_token: string; jti: string };
  const bearer = `Bearer ${grant.auth_token}`;
  const firstUse = Date.now();
  t.is((await gw.send(bearer)).status, 200, 'admitted before revocation');
  await server.admin('POST', '/admin/tokens/revoke', { jti: grant.jti });

  const cached = await gw.send(bearer);
  if (Date.now() - firstUse < (cacheSeconds - 1) * 1000) {
    t.is(cached.status, 200, 'still admitted from the cache right after revocation');
  } else {
    t.log(`the machine was slow (${Date.now() - firstUse} ms): the cached answer was not checked`);
  }

  await new Promise((r) => setTimeout(r, Math.max(0, firstUse + cacheSeconds * 1000 + 1000 - Date.now())));
  const before = upstream.requests.length;
  const after = await gw.send(bearer);
  t.is(after.status, 401, `refused once ${cacheSeconds} s have passed (${after.body.slice(0, 200)})`);
  t.is(upstream.requests.length, before, 'the revoked token did not reach the upstream');
}
