import { createServer, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** How long a connection may take over each part of an exchange. */
export interface HttpTimeouts {
  /** The whole request head must arrive within this (a client trickling header fields is cut). */
  headersTimeoutMs: number;
  /** The whole request, body included. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection; above common load balancers' 60 s, so they close first. */
  keepAliveTimeoutMs: number;
  /**
   * How often node checks the two limits above. Node checks them only at this
   * interval (30 s by default), so without it a 10 s limit is enforced at up
   * to 40 s.
   */
  connectionsCheckingIntervalMs: number;
}

export const HTTP_TIMEOUTS: HttpTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 65_000,
  connectionsCheckingIntervalMs: 500,
};

/** The node:http server the app is served from, with time limits that hold. */
export function createHttpServer(listener: RequestListener, timeouts: HttpTimeouts = HTTP_TIMEOUTS): Server {
  const server = createServer(
    {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      keepAliveTimeout: timeouts.keepAliveTimeoutMs,
      connectionsCheckingInterval: timeouts.connectionsCheckingIntervalMs,
    },
    listener,
  );
  server.on('clientError', answerClientError);
  return server;
}

/**
 * Requests node's parser refuses (an unknown method, a malformed head, header
 * fields over the size limit, a head or body that came too slowly) are
 * answered in the RFC 6749 §5.2 JSON form like every other error, instead of
 * node's bare status line.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, description] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'request header fields are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'the request did not arrive in time']
        : [400, 'Bad Request', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify({ error: 'invalid_request', error_description: description });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    // Closed once written, whether or not the client ever closes its side.
    () => socket.destroy(),
  );
}
