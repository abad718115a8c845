import type { EventEmitter } from 'node:events';

/**
 * Resolves true once `condition` holds, checked now and each time `emitter`
 * emits `event`; false if `timeoutMs` passes first. For a state that changes
 * only when something is emitted (data read, a line written, a step done).
 */
export function whenEmitted(emitter: EventEmitter, event: string, condition: () => boolean, timeoutMs: number): Promise<boolean> {
  if (condition()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const check = () => {
      if (!condition()) return;
      finish(true);
    };
    const finish = (result: boolean) => {
      clearTimeout(timer);
      emitter.removeListener(event, check);
      resolve(result);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    emitter.on(event, check);
  });
}

/**
 * Resolves true once `condition` holds, checked every `everyMs`; false if
 * `timeoutMs` passes first. For a state no event announces (a row deleted by
 * a background sweep, a kernel queue emptied).
 */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Whether `promise` settles, either way, within `timeoutMs`. */
export function settlesWithin(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(done, done);
  });
}
