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
 * The one structured logger: JSON lines on stdout.
 *
 * Nothing that could carry a credential is ever passed to it (request bodies,
 * Authorization headers, tokens). The redaction list is a second line of
 * defence for fields whose names suggest a secret, should one slip through.
 */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
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
    options.destination,
  );
}

/** A logger that writes nowhere, for tests and tools that do not want output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
