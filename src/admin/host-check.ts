/**
 * DNS rebinding: a web page an operator opens can point a name it owns at the admin listener's
 * address and have the operator's browser read `http://that-name:9091/status.json` or `/metrics`.
 * The browser sends that name in Host. So the admin listener answers only the names it is
 * reachable as: an IP address (a page served from an address is that address's own origin),
 * `localhost` (and `*.localhost`, which browsers keep on loopback), ADMIN_HOST when it is a name,
 * and the names listed in ADMIN_HOSTS (a container's service name, a host name Prometheus uses).
 */
import { isIP } from 'node:net';

/** The names the admin listener answers to, besides IP addresses and localhost. */
export function allowedHostNames(adminHost: string, adminHosts: readonly string[]): ReadonlySet<string> {
  const names = adminHosts.map((h) => h.toLowerCase());
  if (isIP(adminHost) === 0 && adminHost !== '') names.push(adminHost.toLowerCase());
  return new Set(names);
}

/** Whether a request with this Host header may be answered. */
export function hostAllowed(allowed: ReadonlySet<string>, host: string | undefined): boolean {
  // HTTP/1.0 clients may send none: no browser does.
  if (host === undefined) return true;
  const name = hostnameOf(host).toLowerCase();
  return isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost') || allowed.has(name);
}

/** The host name of a Host header value: `[::1]:9091` → `::1`, `name:9091` → `name`. */
function hostnameOf(host: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(host);
  if (bracketed !== null) return bracketed[1] ?? '';
  return host.replace(/:\d*$/, '').replace(/\.$/, '');
}
