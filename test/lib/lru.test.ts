import test from 'ava';
import { ExpiringLru } from '../../src/lib/lru.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

test('an entry is returned until its expiry and never from its expiry on', (t) => {
  const lru = new ExpiringLru<string, string>(10);
  lru.set('a', 'A', T0 + 1000);
  t.is(lru.get('a', T0), 'A');
  t.is(lru.get('a', T0 + 999), 'A');
  t.is(lru.get('a', T0 + 1000), undefined, 'expired at its expiry time');
  t.is(lru.size, 0, 'an expired entry found is dropped');
  t.is(lru.get('a', T0), undefined, 'and stays gone if the clock goes back');
});

test('an entry set already expired is never returned', (t) => {
  const lru = new ExpiringLru<string, string>(10);
  lru.set('past', 'P', T0 - 1);
  lru.set('now', 'N', T0);
  t.is(lru.get('past', T0), undefined);
  t.is(lru.get('now', T0), undefined);
});

test('setting a key again replaces its value and its expiry', (t) => {
  const lru = new ExpiringLru<string, string>(10);
  lru.set('a', 'old', T0 + 1000);
  lru.set('a', 'new', T0 + 5000);
  t.is(lru.size, 1);
  t.is(lru.get('a', T0 + 2000), 'new');
  lru.set('a', 'short', T0 + 3000);
  t.is(lru.get('a', T0 + 3000), undefined, 'a shorter expiry applies too');
});

test('when full, the least recently used entry leaves first; a read counts as a use', (t) => {
  const lru = new ExpiringLru<string, number>(3);
  for (const [i, key] of ['a', 'b', 'c'].entries()) lru.set(key, i, T0 + 60_000);
  t.is(lru.get('a', T0), 0); // b is now the least recently used
  lru.set('d', 3, T0 + 60_000);
  t.is(lru.size, 3);
  t.is(lru.get('b', T0), undefined);
  t.deepEqual(['a', 'c', 'd'].map((k) => lru.get(k, T0)), [0, 2, 3]);
  for (let i = 0; i < 100; i++) lru.set(`k${i}`, i, T0 + 60_000);
  t.is(lru.size, 3, 'never more than maxEntries');
  t.deepEqual(['k97', 'k98', 'k99'].map((k) => lru.get(k, T0)), [97, 98, 99]);
});

test('delete, deleteWhere and clear', (t) => {
  const lru = new ExpiringLru<string, { customer: string }>(100);
  for (let i = 0; i < 10; i++) lru.set(`g${i}`, { customer: i % 2 === 0 ? 'even' : 'odd' }, T0 + 60_000);
  // An entry already past its expiry matches too: a clock set back must not bring it back after an invalidation.
  lru.set('late', { customer: 'even' }, T0 + 1000);
  t.true(lru.delete('g0'));
  t.false(lru.delete('g0'));
  t.is(lru.get('late', T0 + 2000), undefined);
  lru.set('late', { customer: 'even' }, T0 + 1000);
  t.is(lru.deleteWhere((v) => v.customer === 'even'), 5, 'g2, g4, g6, g8 and the expired one');
  t.is(lru.get('late', T0), undefined);
  t.is(lru.size, 5);
  t.deepEqual([1, 3, 5, 7, 9].map((i) => lru.get(`g${i}`, T0)?.customer), ['odd', 'odd', 'odd', 'odd', 'odd']);
  lru.clear();
  t.is(lru.size, 0);
  t.is(lru.get('g1', T0), undefined);
  lru.set('again', { customer: 'x' }, T0 + 1);
  t.is(lru.get('again', T0)?.customer, 'x', 'usable after clear');
});

test('maxEntries must be a positive integer', (t) => {
  for (const bad of [0, -1, 1.5, Number.NaN]) t.throws(() => new ExpiringLru(bad), { instanceOf: RangeError });
});
