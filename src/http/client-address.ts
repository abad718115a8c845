import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { TrustedProxies } from '../config/index.js';

/**
 * The caller's address, as the failed-login limit and the audit lines know
 * it: the socket's peer, or, behind trusted reverse proxies, the nearest
 * address in `X-Forwarded-For` that is not one of them (`proxy-addr` walks
 * the list from the right). See `TrustedProxies` for what is trusted.
 */
export function clientAddressOf(trust: TrustedProxies): (req: IncomingMessage) => string {
  if (trust.hops === 0 && trust.addresses.length === 0) return (req) => req.socket.remoteAddress ?? '';
  const trusted = trust.hops > 0 ? (_address: string, hop: number) => hop < trust.hops : proxyaddr.compile(trust.addresses);
  return (req) => proxyaddr(req, trusted);
}
