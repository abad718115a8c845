/**
 * The embedded store's used-assertion ids (RFC 7523 §3 item 7): the cost of
 * one `use` must not grow with the number of ids kept, and no bound on time
 * or memory may let a replay through (project issue 10, item 9).
 */
import test from 'ava';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';

const T0 = Date.parse('2026-01-15T12:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms);

function store() {
  return new MemoryStore({ logger: silentLogger() }).replays;
}

/** Milliseconds for `calls` new uses on a store already holding `live` live ids. */
async function timeUses(live: number, calls: number): Promise<number> {
  const replays = store();
  // All live for five minutes, as assertions are: a sweep finds nothing to drop.
  for (let i = 0; i < live; i++) await replays.use('client', `fill-${i}`, at(300_000), at(i));
  const started = performance.now();
  for (let i = 0; i < calls; i++) {
    if (!(await replays.use('client', `timed-${i}`, at(300_000), at(live + i)))) throw new Error(`use ${i} refused`);
  }
  return performance.now() - started;
}

// Compared with a run of few ids on the same machine at the same time, not
// against a fixed time: a scan of 20,000 entries per use costs about a
// thousand times more than a bounded step, far outside any noise.
test('past 10,000 live ids, a use costs about what it costs with few (no scan of the whole map)', async (t) => {
  t.timeout(120_000);
  const calls = 5_000;
  await timeUses(100, calls); // warm-up
  const few = await timeUses(100, calls);
  const many = await timeUses(20_000, calls);
  t.true(many < 10 * few + 50, `${calls} uses: ${many.toFixed(0)} ms with 20,000 live ids, ${few.toFixed(0)} ms with 100`);
});

test('a replay is refused however many ids are kept, and after expired ones are dropped', async (t) => {
  const replays = store();
  t.true(await replays.use('client', 'first', at(300_000), at(0)));
  for (let i = 0; i < 12_000; i++) await replays.use('client', `short-${i}`, at(1_000 + i), at(0));
  for (let i = 0; i < 12_000; i++) await replays.use('client', `long-${i}`, at(300_000), at(20_000 + i));
  // Every short id expired long ago and has had many chances to be dropped.
  t.false(await replays.use('client', 'first', at(300_000), at(40_000)), 'the first id is still a replay');
  t.false(await replays.use('client', 'long-0', at(300_000), at(40_000)));
  t.false(await replays.use('client', 'long-11999', at(300_000), at(299_999)), 'until the last millisecond');
  t.true(await replays.use('client', 'short-0', at(400_000), at(40_000)), 'an expired id may be used again');
  t.false(await replays.use('client', 'short-0', at(400_000), at(40_001)), 'and is then a replay again');
});

test('expired ids are dropped as uses go on, so memory follows the live ids', async (t) => {
  const replays = store();
  for (let i = 0; i < 30_000; i++) await replays.use('client', `old-${i}`, at(60_000), at(i));
  // Two minutes later every one of them has expired; ordinary traffic goes on.
  for (let i = 0; i < 30_000; i++) await replays.use('client', `new-${i}`, at(420_000), at(120_000 + i));
  // What is still kept is what the store would have to drop now: none of the old ids.
  t.is(await replays.deleteExpired(at(150_000)), 0);
  t.is(await replays.deleteExpired(at(420_001)), 30_000, 'the new ids are all still kept until they expire');
});

test('in any order of expiries, every answer is the one a plain map would give', async (t) => {
  const replays = store();
  const model = new Map<string, number>();
  // A small deterministic generator: the same run every time.
  let seed = 42;
  const next = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  let now = 0;
  for (let i = 0; i < 50_000; i++) {
    now += next(20);
    const jti = `j${next(3_000)}`;
    const expiry = now + 1 + next(3_000);
    const existing = model.get(jti);
    const expected = !(existing !== undefined && existing > now);
    if (expected) model.set(jti, expiry);
    if ((await replays.use('client', jti, at(expiry), at(now))) !== expected) {
      t.fail(`use ${i} of ${jti} at ${now}: expected ${expected}`);
      return;
    }
  }
  t.pass();
});
