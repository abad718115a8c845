import test from 'ava';
import { generateOpaqueToken, hashToken, isOpaqueTokenShape, randomId } from '../../../src/core/tokens/opaque.js';

test('generated ids are 128-bit base64url and never start with a dash', (t) => {
  const ids = Array.from({ length: 5000 }, () => randomId());
  // Without the rule about 1 in 64 would start with "-" (about 78 of these).
  t.false(ids.some((id) => id.startsWith('-')));
  t.true(ids.every((id) => /^[A-Za-z0-9_-]{22}$/.test(id)));
  t.is(new Set(ids).size, ids.length);
  t.regex(randomId(32), /^[A-Za-z0-9_][A-Za-z0-9_-]{42}$/);
});

test('opaque tokens have the olt_ shape and are stored only as SHA-256', (t) => {
  const token = generateOpaqueToken();
  t.true(isOpaqueTokenShape(token));
  t.false(isOpaqueTokenShape(token.slice(0, -1)));
  t.is(hashToken(token).length, 43);
  t.not(hashToken(token), hashToken(generateOpaqueToken()));
});
