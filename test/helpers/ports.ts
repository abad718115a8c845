import { createServer } from 'node:net';

/** A loopback port that was free a moment ago, for a server process started with PORT set (PORT=0 would not be discoverable from outside). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
