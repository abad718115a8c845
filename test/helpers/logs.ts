import { EventEmitter } from 'node:events';
import { Writable, type Readable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';
import { whenEmitted } from './wait.js';

type Line = Record<string, unknown>;

/**
 * Log lines as they are written: kept as written (`raw`) and, for JSON
 * lines, parsed (`lines`); a test can await a line instead of sleeping.
 */
export class LogLines {
  readonly raw: string[] = [];
  readonly lines: Line[] = [];
  readonly #written = new EventEmitter();
  #ended = false;

  /** Takes one written line. */
  add(text: string): void {
    this.raw.push(text);
    if (text.startsWith('{')) this.lines.push(JSON.parse(text) as Line);
    this.#written.emit('line');
  }

  /** No more lines will come (the stream ended): waits end at once. */
  end(): void {
    this.#ended = true;
    this.#written.emit('line');
  }

  /** Resolves true once `condition` holds, checked now and after each line; false after `timeoutMs` or the end. */
  readonly waitUntil = async (condition: () => boolean, timeoutMs: number): Promise<boolean> => {
    await whenEmitted(this.#written, 'line', () => this.#ended || condition(), timeoutMs);
    return condition();
  };

  /** The first parsed line that matches, written already or within `timeoutMs`; undefined if none. */
  readonly waitForLine = async (match: (line: Line) => boolean, timeoutMs: number): Promise<Line | undefined> => {
    await this.waitUntil(() => this.lines.some(match), timeoutMs);
    return this.lines.find(match);
  };
}

/** A logger whose lines are kept, as written (`raw`) and parsed (`lines`), and can be awaited. */
export function captureLogs(level = 'info'): { logger: Logger; raw: string[]; lines: Line[]; waitForLine: LogLines['waitForLine']; waitUntil: LogLines['waitUntil'] } {
  const log = new LogLines();
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) log.add(line);
      done();
    },
  });
  return { logger: createLogger({ level, destination }), raw: log.raw, lines: log.lines, waitForLine: log.waitForLine, waitUntil: log.waitUntil };
}

/** The lines a process writes to `stream` (a child's stdout), as they arrive. */
export function readLogLines(stream: Readable): LogLines {
  const log = new LogLines();
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) if (part.trim()) log.add(part);
  });
  stream.on('close', () => log.end());
  return log;
}
