import { PerformanceObserver } from 'node:perf_hooks';

/**
 * Garbage collections seen in this process, for allocation figures taken
 * from the heap's growth: a collection inside the span (a scavenge, or a
 * major collection that also frees young objects) makes the growth smaller,
 * possibly still above zero, so such a span is dropped instead.
 *
 * Read `collectionsNow()` right before the span, after the event loop has
 * turned since any earlier collection (GC entries arrive a little after
 * theirs), and `collectionsSettled()` after it. Waiting right before the
 * span is no substitute: idle-time work would come in, and the span pay for
 * it.
 */
let collections = 0;
new PerformanceObserver((list) => {
  collections += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

export const collectionsNow = (): number => collections;

export async function collectionsSettled(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  return collections;
}
