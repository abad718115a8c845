import test from 'ava';
import { Writable } from 'node:stream';
import { createLogger, requestLineWriter, type RequestLineFields } from '../../src/log.js';

/** A destination that keeps every line written. */
function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split(/(?<=\n)/));
      done();
    },
  });
  return { lines, destination };
}

const withoutTime = (line: string) => line.replace(/,"time":"[^"]*"/, '');

const cases: RequestLineFields[] = [
  { req_id: 'abc-1', method: 'POST', route: '/introspect', status: 200, ms: 0.123456, client_id: 'Xy_9-Q', reason: 'active' },
  { req_id: 'abc-2', method: 'GET', route: '/admin/clients/:id', status: 404, ms: 12, client_id: undefined, reason: undefined },
  // Values that need escaping take JSON's own.
  { req_id: 'r"1', method: 'M\\X', route: '/a b/é', status: 500, ms: 1e-7, client_id: 'c"\n\u2028', reason: 'expired' },
];

test('the access line is byte for byte what pino writes for the same fields, bindings included', async (t) => {
  for (const bindings of [undefined, { worker: 3 }]) {
    const { lines, destination } = capture();
    const base = createLogger({ destination });
    const logger = bindings ? base.child(bindings) : base;
    const write = requestLineWriter(logger);
    for (const fields of cases) {
      write(fields);
      logger.info({ ...fields }, 'request');
    }
    await new Promise((resolve) => setImmediate(resolve));
    t.is(lines.length, cases.length * 2);
    for (let i = 0; i < lines.length; i += 2) {
      t.is(withoutTime(lines[i]!), withoutTime(lines[i + 1]!), `case ${i / 2} with ${JSON.stringify(bindings)}`);
      t.notThrows(() => JSON.parse(lines[i]!));
    }
  }
});

test('no line below the info level', (t) => {
  const { lines, destination } = capture();
  const write = requestLineWriter(createLogger({ level: 'warn', destination }));
  write(cases[0]!);
  t.is(lines.length, 0);
});
