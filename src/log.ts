import { writeSync } from 'node:fs';
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * pino's `isoTime`, formatted once per millisecond: at thousands of lines a
 * second most lines share their millisecond with the one before, and
 * formatting a date costs more than the rest of the timestamp's work.
 */
function isoTimeOncePerMillisecond(): () => string {
  let last = -1;
  let field = '';
  return () => {
    const now = Date.now();
    if (now !== last) {
      last = now;
      field = `,"time":"${new Date(now).toISOString()}"`;
    }
    return field;
  };
}

/**
 * Linux's PIPE_BUF: a write of at most this many bytes to a pipe is neither
 * split nor interleaved with another process's writes, so the workers of a
 * cluster, which share one standard output, never cut each other's lines
 * (only a single line longer than this, written alone, could be).
 */
const CHUNK_BYTES = 4096;

/** How long to wait before offering refused lines again. */
const RETRY_MS = 10;

/** At exit, how long to keep offering lines to a reader that refuses them. */
const EXIT_WAIT_MS = 2000;

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * The server's log destination: one `write(2)` for the lines of one
 * event-loop turn, instead of one per line.
 *
 * pino hands over each finished line; they are collected in an array and
 * written together, synchronously, when the turn ends (`setImmediate`), or
 * sooner once they fill a chunk of CHUNK_BYTES. Lines are never split and
 * keep their order. Nothing is in flight between writes, so on exit the few
 * lines not yet written are written synchronously (`flushSync`).
 *
 * Back-pressure. A blocking descriptor (a file, a terminal, a pipe that no
 * process made non-blocking: Node does when `process.stdout` is used) makes a
 * slow reader slow the writer, as `console.log` does; one chunk is held. A
 * non-blocking pipe or socket that is full refuses the write (EAGAIN):
 * finished chunks then wait, offered again every RETRY_MS, up to
 * `maxQueuedBytes` (4 MiB by default); beyond that new lines are dropped and
 * counted, and once the reader has caught up `onDropped` is told how many
 * (the logger writes a warning line).
 */
export class LineBatchDestination implements DestinationStream {
  /** Lines of the chunk being filled, and their length in UTF-16 units (never more than their UTF-8 bytes). */
  #lines: string[] = [];
  #chars = 0;
  /** Chunks the descriptor refused, oldest first, and their size. */
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #turnScheduled = false;
  #retry: NodeJS.Timeout | undefined;
  /** Lines dropped since the last report. */
  #dropped = 0;
  /** Set when a write failed with anything but EAGAIN (e.g. EPIPE: the reader is gone); lines are dropped from then on. */
  #failed: string | null = null;

  /** Told how many lines were dropped, once the descriptor accepts lines again. */
  onDropped: ((lines: number) => void) | undefined;

  constructor(
    readonly fd = 1,
    readonly maxQueuedBytes = 4 * 1024 * 1024,
  ) {}

  /** Lines dropped and not yet reported, and bytes waiting for a refusing reader: for tests and diagnostics. */
  get backlog(): { dropped: number; queuedBytes: number } {
    return { dropped: this.#dropped, queuedBytes: this.#queuedBytes };
  }

  write(line: string): void {
    const chars = line.length;
    if (this.#chars > 0 && this.#chars + chars > CHUNK_BYTES) this.#endChunk();
    if (this.#failed !== null || this.#queuedBytes + this.#chars + chars > this.maxQueuedBytes) {
      this.#dropped++;
      return;
    }
    this.#lines.push(line);
    this.#chars += chars;
    if (!this.#turnScheduled) {
      this.#turnScheduled = true;
      setImmediate(this.#endTurn);
    }
  }

  /** Writes every line now, waiting up to EXIT_WAIT_MS for a reader that refuses them: for the process's last moments. */
  flushSync(): void {
    this.#reportDropped();
    this.#endChunk();
    const deadline = Date.now() + EXIT_WAIT_MS;
    while (this.#queue.length > 0 && this.#failed === null && !this.#writeQueue()) {
      if (Date.now() > deadline) return;
      sleep(RETRY_MS);
    }
  }

  readonly #endTurn = (): void => {
    this.#turnScheduled = false;
    this.#endChunk();
  };

  readonly #onRetry = (): void => {
    this.#retry = undefined;
    if (this.#writeQueue()) this.#reportDropped();
    else this.#retryLater();
  };

  /** Writes the chunk being filled, or queues it behind chunks already refused. */
  #endChunk(): void {
    const lines = this.#lines;
    if (lines.length === 0) return;
    const text = lines.length === 1 ? lines[0]! : lines.join('');
    const count = lines.length;
    lines.length = 0;
    this.#chars = 0;
    if (this.#queue.length > 0) {
      this.#enqueue(Buffer.from(text));
      return;
    }
    // Only lines outside Latin-1 make a chunk longer in bytes than in characters.
    const bytes = Buffer.byteLength(text);
    if (bytes > CHUNK_BYTES && count > 1) return this.#writeLinesApart(text);
    const rest = this.#writeSome(text, bytes);
    if (rest) this.#enqueue(rest);
  }

  /** A chunk of several lines that exceeds CHUNK_BYTES in UTF-8: written one line at a time. */
  #writeLinesApart(text: string): void {
    for (const line of text.split(/(?<=\n)/)) {
      if (this.#queue.length > 0) {
        this.#enqueue(Buffer.from(line));
        continue;
      }
      const rest = this.#writeSome(line, Buffer.byteLength(line));
      if (rest) this.#enqueue(rest);
    }
  }

  /** Writes what the descriptor takes; returns what it did not (null: all of it, or the destination failed). */
  #writeSome(data: string | Buffer, bytes: number): Buffer | null {
    if (this.#failed !== null) return null;
    let written: number;
    try {
      written = typeof data === 'string' ? writeSync(this.fd, data, null, 'utf8') : writeSync(this.fd, data);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return typeof data === 'string' ? Buffer.from(data) : data;
      this.#fail(error as NodeJS.ErrnoException);
      return null;
    }
    if (written >= bytes) return null;
    return (typeof data === 'string' ? Buffer.from(data) : data).subarray(written);
  }

  /** Offers the queued chunks again; true once all are written. */
  #writeQueue(): boolean {
    while (this.#queue.length > 0) {
      const chunk = this.#queue[0]!;
      const rest = this.#writeSome(chunk, chunk.length);
      const written = chunk.length - (rest?.length ?? 0);
      this.#queuedBytes -= written;
      if (rest) {
        this.#queue[0] = rest;
        return false;
      }
      this.#queue.shift();
    }
    this.#queuedBytes = 0;
    return true;
  }

  #enqueue(chunk: Buffer): void {
    if (this.#failed !== null) return;
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.length;
    this.#retryLater();
  }

  #retryLater(): void {
    if (this.#retry !== undefined) return;
    // Unreferenced: lines left when the process ends are written by `flushSync` on exit.
    this.#retry = setTimeout(this.#onRetry, RETRY_MS);
    this.#retry.unref();
  }

  #reportDropped(): void {
    if (this.#dropped === 0 || this.#failed !== null) return;
    const dropped = this.#dropped;
    this.#dropped = 0;
    this.onDropped?.(dropped);
  }

  #fail(error: NodeJS.ErrnoException): void {
    this.#failed = error.code ?? error.name;
    this.#lines.length = 0;
    this.#chars = 0;
    this.#queue = [];
    this.#queuedBytes = 0;
    try {
      writeSync(2, `log lines can no longer be written to descriptor ${this.fd} (${this.#failed}): dropping them\n`);
    } catch {
      // Nowhere left to say it.
    }
  }
}

/** Standard output as the server writes its log: batched, and written out when the process exits. */
function standardOutput(): LineBatchDestination {
  const destination = new LineBatchDestination(1);
  // 'exit' is emitted on process.exit(), on an uncaught exception and when the event loop empties.
  process.on('exit', () => destination.flushSync());
  return destination;
}

/**
 * The one structured logger: JSON lines on stdout (batched per event-loop
 * turn: see LineBatchDestination), or on the given destination.
 *
 * Nothing that could carry a credential is ever passed to it (request bodies,
 * Authorization headers, tokens). The redaction list is a second line of
 * defence for fields whose names suggest a secret, should one slip through.
 */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const destination = options.destination ?? standardOutput();
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      timestamp: isoTimeOncePerMillisecond(),
      formatters: { level: (label) => ({ level: label }) },
      // Top-level names only: wildcard paths cost several per cent of a request.
      redact: {
        paths: ['token', 'auth_token', 'client_secret', 'client_assertion', 'secret', 'authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination,
  );
  if (destination instanceof LineBatchDestination && !destination.onDropped) {
    destination.onDropped = (lines) => logger.warn({ dropped_lines: lines }, 'log lines dropped: standard output did not take them in time');
  }
  return logger;
}

/** A logger that writes nowhere, for tests and tools that do not want output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** The fields of one access log line (src/http/access-log.ts decides what goes in them). */
export interface RequestLineFields {
  req_id: string;
  method: string;
  route: string;
  status: number;
  ms: number;
  client_id: string | undefined;
  reason: string | undefined;
}

/** Characters that need no escaping in a JSON string. */
const PLAIN = /^[A-Za-z0-9 ._:@/+=-]*$/;
const jsonString = (value: string): string => (PLAIN.test(value) ? `"${value}"` : JSON.stringify(value));

/**
 * Writes access log lines to the logger's own destination, byte for byte as
 * `logger.info({ req_id, method, route, status, ms, client_id, reason },
 * 'request')` writes them (same level, time, bindings, field order and
 * escaping; test/http/access-line.test.ts compares the two), in one string. pino's
 * general serializer builds a line from many pieces and costs about 2 KB of
 * allocation per request, the largest single cost left on the hot path; the
 * access line has a fixed shape, so it needs none of that generality. Every
 * other line goes through pino itself. The fields hold no secret, so the
 * redaction list has nothing to do here.
 */
export function requestLineWriter(logger: Logger): (fields: RequestLineFields) => void {
  const time = (logger as unknown as Record<symbol, () => string>)[pino.symbols.timeSym]!;
  const stream = (logger as unknown as Record<symbol, { write(line: string): unknown }>)[pino.symbols.streamSym]!;
  const bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
  return (f) => {
    if (!logger.isLevelEnabled('info')) return;
    stream.write(
      `{"level":"info"${time()}${bindings},"req_id":${jsonString(f.req_id)},"method":${jsonString(f.method)},"route":${jsonString(f.route)},` +
        `"status":${f.status},"ms":${f.ms}${f.client_id === undefined ? '' : `,"client_id":${jsonString(f.client_id)}`}` +
        `${f.reason === undefined ? '' : `,"reason":${jsonString(f.reason)}`},"msg":"request"}\n`,
    );
  };
}
