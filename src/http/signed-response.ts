import type { IncomingMessage } from 'node:http';
import accepts from 'accepts';
import { SignJWT } from 'jose';
import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import { toNumericDate } from '../core/clock.js';
import type { TokenKeys } from '../core/ports.js';
import type { Logger } from '../log.js';
import type { ApiClient } from '../store/types.js';

/**
 * RFC 9701: introspection answers as a signed JWT.
 *
 * A client gets one when it asks (`Accept: application/token-introspection+jwt`,
 * RFC 9701 §4) and is registered for it with `introspection_signed_response_alg`
 * (RFC 9701 §6). The JWT carries `iss`, `aud` (the client), `iat` and the usual
 * RFC 7662 answer as `token_introspection` (RFC 9701 §5), signed with the
 * server's current key, so /jwks.json verifies it.
 *
 * A client that asks but is not registered gets the plain JSON answer: RFC 9701
 * §5 has the server choose how to sign from the client's registered metadata
 * (§6), so without a registration nothing was agreed, and the plain answer is
 * what RFC 7662 defines (the Accept header states a preference, RFC 9110
 * §12.5.1). The Content-Type tells the client which one it got.
 */
export const INTROSPECTION_JWT_MEDIA_TYPE = 'application/token-introspection+jwt';
/** RFC 9701 §5: the `typ` header, the media type without `application/`. */
export const INTROSPECTION_JWT_TYP = 'token-introspection+jwt';

export interface SignedResponseDeps {
  config: Pick<Config, 'issuer'>;
  keys: TokenKeys;
  clock: Clock;
  logger: Logger;
}

/** Whether the request prefers the JWT answer to JSON (no Accept header, or a wildcard, means JSON). */
function asksForSignedAnswer(req: IncomingMessage): boolean {
  return accepts(req).type(['application/json', INTROSPECTION_JWT_MEDIA_TYPE]) === INTROSPECTION_JWT_MEDIA_TYPE;
}

export async function signIntrospectionResponse(answer: Record<string, unknown>, client: ApiClient, deps: SignedResponseDeps): Promise<string> {
  // One read of the current key: kid, alg and key always belong together, even during a reload.
  const { kid, alg, key } = deps.keys.current;
  if (alg !== client.introspectionSignedResponseAlg) {
    // The server's key changed algorithm since the client registered. A signed
    // answer the client may refuse beats silently dropping the signature.
    deps.logger.warn(
      { event: 'introspection.signing_alg_mismatch', client_id: client.id, registered_alg: client.introspectionSignedResponseAlg, alg },
      'signed introspection answer uses the current key algorithm, not the one the client registered',
    );
  }
  return new SignJWT({ token_introspection: answer })
    .setProtectedHeader({ alg, kid, typ: INTROSPECTION_JWT_TYP })
    .setIssuer(deps.config.issuer)
    .setAudience(client.id)
    .setIssuedAt(toNumericDate(deps.clock.now()))
    .sign(key);
}

/**
 * An introspection answer as JSON, or as a signed JWT when asked for and
 * registered. The answer depends on Accept, so it carries `Vary: Accept`
 * (for caches, were any to keep it).
 */
export function renderIntrospectionResponse(
  req: IncomingMessage,
  answer: Record<string, unknown>,
  client: ApiClient,
  deps: SignedResponseDeps,
): { contentType: string; body: string } | Promise<{ contentType: string; body: string }> {
  if (client.introspectionSignedResponseAlg && asksForSignedAnswer(req)) {
    return signIntrospectionResponse(answer, client, deps).then((body) => ({ contentType: INTROSPECTION_JWT_MEDIA_TYPE, body }));
  }
  // The usual answer is ready at once: no promise to make for it.
  return { contentType: JSON_MEDIA_TYPE, body: JSON.stringify(answer) };
}

export const JSON_MEDIA_TYPE = 'application/json; charset=utf-8';
