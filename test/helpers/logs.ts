import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

/** A logger whose lines are kept, as written (`raw`) and parsed (`lines`). */
export function captureLogs(level = 'info'): { logger: Logger; raw: string[]; lines: Array<Record<string, unknown>> } {
  const raw: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger({ level, destination }), raw, lines };
}
