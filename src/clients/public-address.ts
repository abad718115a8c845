import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which hosts this server may reach on a client's behalf (its `jwks_uri`).
 * Anyone can make the server fetch a client's key set by presenting an
 * assertion naming that client, so the URL must not lead into the server's
 * own network: only public addresses, with loopback as a development opt-in.
 *
 * - `public`: a global unicast address (RFC 6890 lists the rest).
 * - `loopback`: this machine (127.0.0.0/8, ::1, and the name `localhost`).
 * - `refused`: anything else: private (RFC 1918), unique-local (RFC 4193),
 *   shared/CGNAT (RFC 6598), link-local (cloud metadata lives at
 *   169.254.169.254), multicast, unspecified, broadcast, documentation and
 *   benchmarking ranges, NAT64 and other translated or tunnelled forms.
 */
export type HostClass = 'public' | 'loopback' | 'refused';

/** RFC 4291 §2.4: global unicast IPv6; ::/8 (with the deprecated IPv4-compatible form) and the rest are not. */
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

/** The class of an IP address (v4, v6, or v6 with a zone); a string that is no address is `refused`. */
export function addressClass(address: string): HostClass {
  if (isIP(address) === 0) return 'refused';
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process(): an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address it reaches.
    parsed = ipaddr.process(address);
  } catch {
    return 'refused';
  }
  // ipaddr.js names every special-purpose range it knows; "unicast" is what is left.
  const range = parsed.range();
  if (range === 'loopback') return 'loopback';
  if (range !== 'unicast') return 'refused';
  if (parsed.kind() === 'ipv6' && !parsed.match(IPV6_GLOBAL_UNICAST)) return 'refused';
  return 'public';
}

/**
 * The class of a URL's host as written, when the host alone decides it: an
 * IP literal, or a name that is local by definition. `undefined`: a name
 * whose addresses decide (checked when it is resolved).
 *
 * Local names: `localhost` and `*.localhost` (RFC 6761 §6.3: loopback);
 * `.local` (RFC 6762 mDNS), `.home.arpa` (RFC 8375), `.internal` (reserved
 * for private use by ICANN, e.g. metadata.google.internal), `.localdomain`;
 * and single labels, which a resolver completes from its local search list.
 */
export function hostClass(hostname: string): HostClass | undefined {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (isIP(host) !== 0) return addressClass(host);
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return 'loopback';
  if (!name.includes('.') || /\.(local|localdomain|internal|home\.arpa)$/.test(name)) return 'refused';
  return undefined;
}
