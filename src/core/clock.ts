/** The one clock. Everything that compares times asks it, so tests can fix time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until moved; for tests and tools. */
export class FixedClock implements Clock {
  #ms: number;
  constructor(start: Date | number) {
    this.#ms = typeof start === 'number' ? start : start.getTime();
  }
  now(): Date {
    return new Date(this.#ms);
  }
  advance(seconds: number): void {
    this.#ms += seconds * 1000;
  }
  set(at: Date | number): void {
    this.#ms = typeof at === 'number' ? at : at.getTime();
  }
}

/** NumericDate (RFC 7519 §2): whole seconds since the epoch. */
export const toNumericDate = (date: Date): number => Math.floor(date.getTime() / 1000);
