import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { eventually } from './wait.js';

/** One HTTP/1.1 answer as read off the wire. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `request` (the request line, header fields and body, exactly as
 * given) and reads one answer. Nothing is normalized on the way: request
 * targets reach the server as written (case, dot segments, doubled slashes,
 * absolute-form), which HTTP client libraries may otherwise tidy up.
 */
export function rawRequest(port: number, request: string, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer in time'));
    }, timeoutMs);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const parsed = parse(Buffer.concat(chunks).toString('utf8'));
      if (parsed) {
        clearTimeout(timer);
        socket.destroy();
        resolve(parsed);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      const parsed = parse(Buffer.concat(chunks).toString('utf8'));
      if (parsed) resolve(parsed);
      else reject(new Error('connection closed before a whole answer'));
    });
    socket.write(request);
  });
}

/** A whole answer with a Content-Length, or null while more is due. */
function parse(text: string): RawResponse | null {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...fields] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
  }
  const body = text.slice(end + 4);
  const length = Number(headers['content-length'] ?? 0);
  if (Buffer.byteLength(body) < length) return null;
  return { status: Number(statusLine!.split(' ')[1]), headers, body };
}

/** A request in wire form: `method target`, fields, and an optional body with its Content-Length. */
export function wire(method: string, target: string, fields: Record<string, string> = {}, body?: string): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of Object.entries(fields)) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
}

const TCP_TABLE = '/proc/net/tcp';

/** Send and receive queue lengths of the IPv4 TCP connections, by `localPort:remotePort`. */
async function tcpQueues(): Promise<Map<string, { tx: number; rx: number }>> {
  const queues = new Map<string, { tx: number; rx: number }>();
  for (const row of (await readFile(TCP_TABLE, 'utf8')).split('\n').slice(1)) {
    const [, local, remote, , txRx] = row.trim().split(/\s+/);
    if (!local || !remote || !txRx) continue;
    const [tx, rx] = txRx.split(':').map((hex) => parseInt(hex, 16));
    queues.set(`${parseInt(local.split(':')[1]!, 16)}:${parseInt(remote.split(':')[1]!, 16)}`, { tx: tx!, rx: rx! });
  }
  return queues;
}

/**
 * Resolves once the server listening on loopback `port` has read everything
 * `sockets` sent it: nothing left in the sockets' buffers nor send queues,
 * nor in the receive queue of the server's side of each connection (Linux,
 * /proc/net/tcp). A node server parses what it reads in the same turn, so a
 * request head read is a request begun. Throws after `timeoutMs`.
 */
export async function serverHasRead(port: number, sockets: Socket[], timeoutMs = 10_000): Promise<void> {
  if (!existsSync(TCP_TABLE)) {
    // Elsewhere the kernel's queues are not in view: give the server a moment instead.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return;
  }
  const allRead = async () => {
    if (sockets.some((socket) => socket.writableLength > 0)) return false;
    const queues = await tcpQueues();
    // A connection no longer listed was closed: the server is done with it (it may answer before reading a body).
    return sockets.every((socket) => (queues.get(`${socket.localPort}:${port}`)?.tx ?? 0) === 0 && (queues.get(`${port}:${socket.localPort}`)?.rx ?? 0) === 0);
  };
  if (!(await eventually(allRead, timeoutMs, 5))) throw new Error(`the server on port ${port} did not read what was sent within ${timeoutMs} ms`);
}
