import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import typeis from 'type-is';
import { InvalidRequest } from './errors.js';
import type { AppMiddleware } from './middleware.js';

/**
 * Request bodies: read within the size limit, of the declared media type,
 * never with credentials in the URL. One reader for the client endpoints
 * (pipeline.ts) and the Koa routes.
 */

/** Parameters beyond this many are refused; no endpoint takes more than five. */
const MAX_PARAMETERS = 16;

/** A 4xx the error renderer shows as `invalid_request` with this message (as raw-body's errors). */
class BodyError extends Error {
  readonly expose = true;
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/**
 * Reads the body as UTF-8. The usual request (a short body with a
 * Content-Length within the limit) is read directly: collecting a few chunks
 * costs less than raw-body's generic machinery, which still handles the rest
 * (chunked bodies, declared lengths over the limit).
 */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = req.headers['content-length'];
  const length = declared && /^\d{1,9}$/.test(declared) ? Number(declared) : -1;
  if (length < 0 || length > limit) {
    return getRawBody(req, { limit, encoding: 'utf8', length: declared || undefined });
  }
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > length) fail(new BodyError('request size did not match content length', 400));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (received !== length) reject(new BodyError('request size did not match content length', 400));
      else resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, received).toString('utf8'));
    };
    const onError = (error: Error) => fail(new BodyError(`request body could not be read (${error.name})`, 400));
    const onClose = () => fail(new BodyError('request aborted', 400));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Secrets and tokens belong in the body; in a URL they end up in access logs. */
function refuseCredentialsInQuery(querystring: string): void {
  if (querystring === '') return;
  const query = new URLSearchParams(querystring);
  for (const name of ['token', 'client_secret', 'auth_token']) {
    if (query.has(name)) throw new InvalidRequest(`parameter ${name} must be sent in the request body, not the URL`);
  }
}

/** Whether the request has a body of this media type (as Koa's `ctx.is`). */
function hasBodyOfType(req: IncomingMessage, type: string): boolean {
  // The usual request names the type exactly: no need to parse the header.
  if (req.headers['content-type'] === type) return typeis.hasBody(req);
  // null: no body; false: another type.
  return typeof typeis(req, [type]) === 'string';
}

/**
 * Reads an `application/x-www-form-urlencoded` body into a map of single
 * values. Repeated parameters are refused (RFC 6749 §3.2, RFC 7662 §2.1);
 * values are always strings, so nothing structured can reach a query.
 */
export async function readForm(req: IncomingMessage, querystring: string, limit: number): Promise<Map<string, string>> {
  refuseCredentialsInQuery(querystring);
  if (!hasBodyOfType(req, FORM_TYPE)) throw new InvalidRequest(`content type must be ${FORM_TYPE}`);
  const params = new Map<string, string>();
  let count = 0;
  for (const [name, value] of formPairs(await readBody(req, limit))) {
    if (++count > MAX_PARAMETERS) throw new InvalidRequest('too many parameters');
    if (params.has(name)) throw new InvalidRequest(`parameter ${safeName(name)} is repeated`);
    params.set(name, value);
  }
  return params;
}

const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * The name-value pairs of a form body, exactly as `new URLSearchParams(body)`
 * gives them (which, unlike the bare WHATWG form parser, drops one leading
 * `?`). A body with nothing to decode (no `%`, no `+`: the usual one, as
 * tokens and client ids are URL-safe) is split directly; anything else goes
 * to URLSearchParams.
 */
export function formPairs(body: string): Iterable<[string, string]> {
  if (body.includes('%') || body.includes('+')) return new URLSearchParams(body);
  const pairs: Array<[string, string]> = [];
  for (const part of (body.startsWith('?') ? body.slice(1) : body).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    pairs.push(eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)]);
  }
  return pairs;
}

/**
 * Reads an `application/json` body and parses it; its shape is checked by
 * the schema of the endpoint that reads it.
 */
export async function readJson(req: IncomingMessage, querystring: string, limit: number): Promise<unknown> {
  refuseCredentialsInQuery(querystring);
  if (!hasBodyOfType(req, 'application/json')) throw new InvalidRequest('content type must be application/json');
  const text = await readBody(req, limit);
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequest('body is not valid JSON');
  }
}

/** `readJson` as a Koa middleware: the body goes to `ctx.state.json`. */
export function jsonBody(limit: number): AppMiddleware {
  return async (ctx, next) => {
    ctx.state.json = await readJson(ctx.req, ctx.querystring, limit);
    await next();
  };
}

/** A parameter name as it may appear in an error description. */
export function safeName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,40}$/.test(name) ? name : '(unnamed)';
}

