import test from 'ava';
import fc from 'fast-check';
import { formPairs } from '../../src/http/body.js';

const whatwg = (body: string) => [...new URLSearchParams(body)];

test('form bodies parse exactly as URLSearchParams parses them, with or without anything to decode', (t) => {
  // Bodies built from the characters that matter to the parser, so that
  // separators, empty parts, `=` in values, `+` and `%` sequences come up often.
  const piece = fc.constantFrom('&', '=', '+', '%', '%2', '%41', '%zz', '?', 'a', 'token', '.', '-', '_', 'é', ' ', '');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 30 }), fc.string(), (pieces, tail) => {
      const body = pieces.join('') + tail;
      t.deepEqual([...formPairs(body)], whatwg(body), JSON.stringify(body));
    }),
    { numRuns: 3000 },
  );
  for (const body of ['', '?', '??a=b', '?a=b', '&', '&&a', 'a', 'a=', '=b', 'a=b=c', 'token=eyJ.x.y&client_id=c1', 'a=1&a=2', 'x&y=']) {
    t.deepEqual([...formPairs(body)], whatwg(body), body);
  }
});
