import type { Logger } from '../../log.js';
import type { GrantStore, ReplayStore } from '../types.js';
import { describe } from './errors.js';

export interface SweeperOptions {
  grants: Pick<GrantStore, 'deleteExpired'>;
  replays: Pick<ReplayStore, 'deleteExpired'>;
  /** How long grants are kept after they expire. */
  retentionSeconds: number;
  intervalMs: number;
  logger: Logger;
  /** The store kind named in log lines. */
  store: string;
}

/**
 * Deletes expired grants and used assertion ids in-process, for servers
 * without TTL indexes (FerretDB). At most one pass runs at a time; the timer
 * does not keep the process alive.
 */
export class ExpirySweeper {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(private readonly options: SweeperOptions) {}

  /** Starts the timer and runs a first pass at once; a second call does nothing. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweepOnce(), this.options.intervalMs);
    this.timer.unref();
    this.sweepOnce();
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    await this.sweeping;
  }

  /** One pass of the sweeper: grants past their retention, and used assertion ids past their expiry. */
  private sweepOnce(): void {
    if (this.sweeping) return;
    const { grants, replays, retentionSeconds, logger, store } = this.options;
    const now = Date.now();
    const before = new Date(now - retentionSeconds * 1000);
    this.sweeping = Promise.all([grants.deleteExpired(before), replays.deleteExpired(new Date(now))])
      .then(([deleted, deletedJtis]) => {
        if (deleted > 0 || deletedJtis > 0) logger.debug({ store, deleted, deleted_jtis: deletedJtis }, 'swept expired grants');
      })
      .catch((err: unknown) => {
        logger.warn({ store, error: describe(err) }, 'sweeping expired grants failed');
      })
      .finally(() => {
        this.sweeping = null;
      });
  }
}
