import test from 'ava';
import { EventEmitter } from 'node:events';
import { ClusterWindowCounter, relayRateLimits } from '../../src/http/rate-limit-cluster.js';
import { RateLimits } from '../../src/http/rate-limit.js';
import { silentLogger } from '../../src/log.js';
import { FixedClock } from '../../src/core/clock.js';
import { fakeCluster, messagesInTransit } from '../helpers/cluster.js';
import { eventually, whenEmitted } from '../helpers/wait.js';

const WINDOW_MS = 60_000;
const T0 = Date.UTC(2026, 0, 15, 12, 0, 10); // 10 s into an aligned minute
/**
 * The counters of two workers of one fake cluster, and `settle`: resolves once every hit so far
 * has been sent (a hit marks its counter until the counter sends), added up by the primary, and
 * the totals delivered to every worker.
 */
function twoWorkers(flushMs = 1) {
  const procs = fakeCluster(2, [relayRateLimits]);
  const unsent = new Set<ClusterWindowCounter>();
  const settle = async () => {
    const quiet = () => unsent.size === 0 && messagesInTransit(procs[0]!) === 0;
    if (!(await eventually(quiet, 5000, 1))) throw new Error('the workers did not exchange their counts within 5 s');
  };
  const [a, b] = procs.map((proc) => {
    const counter = new ClusterWindowCounter({ proc, flushMs });
    const hit = counter.hit.bind(counter);
    counter.hit = (...args) => {
      unsent.add(counter);
      return hit(...args);
    };
    const send = proc.send!.bind(proc);
    proc.send = ((message: unknown) => {
      unsent.delete(counter);
      return send(message);
    }) as NodeJS.Process['send'];
    return counter;
  });
  return [a!, b!, settle] as const;
}

test('counts made in one worker are seen by the other once sent, and each worker sees its own at once', async (t) => {
  const [a, b, settle] = twoWorkers();
  t.is(a.hit('auth_failures:203.0.113.7', WINDOW_MS, T0).count, 1);
  t.is(a.hit('auth_failures:203.0.113.7', WINDOW_MS, T0).count, 2, 'a worker never undercounts its own hits');
  t.is(b.peek('auth_failures:203.0.113.7', WINDOW_MS, T0).count, 0, 'not sent yet');
  await settle();
  t.is(b.peek('auth_failures:203.0.113.7', WINDOW_MS, T0).count, 2);
  t.is(b.hit('auth_failures:203.0.113.7', WINDOW_MS, T0).count, 3);
  await settle();
  t.is(a.peek('auth_failures:203.0.113.7', WINDOW_MS, T0).count, 3);
  t.is(b.peek('auth_failures:203.0.113.7', WINDOW_MS, T0).count, 3, 'an acknowledged count is not counted twice');
});

test('interleaved hits in both workers add up exactly once everything is sent', async (t) => {
  const [a, b, settle] = twoWorkers();
  for (let i = 0; i < 50; i++) {
    a.hit('client:c1', WINDOW_MS, T0);
    b.hit('client:c1', WINDOW_MS, T0);
    if (i % 7 === 0) await settle();
  }
  await settle();
  t.is(a.peek('client:c1', WINDOW_MS, T0).count, 100);
  t.is(b.peek('client:c1', WINDOW_MS, T0).count, 100);
});

test('windows are aligned to the clock and a new window starts from zero in every worker', async (t) => {
  const [a, b, settle] = twoWorkers();
  const first = a.hit('k', WINDOW_MS, T0);
  t.is(first.resetAtMs, Date.UTC(2026, 0, 15, 12, 1, 0), 'the window ends at the next whole minute');
  await settle();
  const next = T0 + 50_000; // 12:01:00, the next window
  t.is(b.peek('k', WINDOW_MS, next).count, 0);
  t.is(b.hit('k', WINDOW_MS, next).count, 1);
  await settle();
  t.is(a.peek('k', WINDOW_MS, next).count, 1);
});

test('a late count of an ended window does not reach the new one', async (t) => {
  const [a, b, settle] = twoWorkers(20);
  a.hit('k', WINDOW_MS, T0); // sent 20 ms later, after b has moved on
  b.hit('k', WINDOW_MS, T0 + WINDOW_MS);
  await settle();
  t.is(b.peek('k', WINDOW_MS, T0 + WINDOW_MS).count, 1);
});

test('the auth-failure limit holds for failures spread over two workers', async (t) => {
  const [counterA, counterB, settle] = twoWorkers();
  const clock = new FixedClock(new Date(T0));
  const config = { rateLimitAuthFailures: 4, rateLimitClientRequests: 0, rateLimitWindowSeconds: 60 };
  const limitsA = new RateLimits({ config, clock, logger: silentLogger(), counter: counterA });
  const limitsB = new RateLimits({ config, clock, logger: silentLogger(), counter: counterB });
  for (const limits of [limitsA, limitsB, limitsA, limitsB]) {
    await limits.refuseFailingAddress('198.51.100.9', 'r');
    await limits.countAuthFailure('198.51.100.9');
    await settle();
  }
  // Two failures in each worker: alone, each would still allow two more.
  const refused = await limitsA.refuseFailingAddress('198.51.100.9', 'r').then(() => null, (error: Error & { status?: number }) => error.status);
  t.is(refused, 429);
  const refusedB = await limitsB.refuseFailingAddress('198.51.100.9', 'r').then(() => null, (error: Error & { status?: number }) => error.status);
  t.is(refusedB, 429);
  t.is(await limitsA.refuseFailingAddress('198.51.100.10', 'r'), 0, 'other addresses are not affected');
});

test('without the primary (channel closed) a worker keeps counting on its own', (t) => {
  const proc = Object.assign(new EventEmitter(), { connected: false, send: () => t.fail('nothing is sent on a closed channel') }) as unknown as NodeJS.Process;
  const counter = new ClusterWindowCounter({ proc, flushMs: 1 });
  counter.hit('k', WINDOW_MS, T0);
  t.is(counter.hit('k', WINDOW_MS, T0).count, 2);
});

test('the counter stays bounded', (t) => {
  const [procA] = fakeCluster(1, [relayRateLimits]);
  const counter = new ClusterWindowCounter({ proc: procA, maxKeys: 100, flushMs: 1000 });
  for (let i = 0; i < 1000; i++) counter.hit(`auth_failures:10.0.${i >> 8}.${i & 255}`, WINDOW_MS, T0);
  t.true(counter.size <= 100);
  t.is(counter.peek('auth_failures:10.0.3.231', WINDOW_MS, T0).count, 1, 'the newest keys stay');
});

test('a primary that never answers does not make the worker keep its messages without end', async (t) => {
  const channel = new EventEmitter();
  let sent = 0;
  const send = () => {
    sent += 1;
    channel.emit('sent');
    return true;
  };
  const proc = Object.assign(channel, { connected: true, send }) as unknown as NodeJS.Process;
  const counter = new ClusterWindowCounter({ proc, flushMs: 0 });
  for (let i = 0; i < 1200; i++) {
    counter.hit('k', WINDOW_MS, T0);
    // Each hit is sent on its own, by the flush timer: one message per hit, none answered.
    t.true(await whenEmitted(channel, 'sent', () => sent > i, 5000), `hit ${i} was sent`);
  }
  t.true(counter.unanswered <= 1000, String(counter.unanswered));
  t.is(counter.peek('k', WINDOW_MS, T0).count, 1200, 'unanswered counts still count');
});
