/**
 * DNS rebinding: a web page an operator opens can point a name it owns at 127.0.0.1 and have the
 * operator's browser read `http://that-name:9091/status.json` or `/metrics` from the admin
 * listener. The browser sends that name in Host. So an admin listener bound to loopback (as
 * ADMIN_HOST is by default) serves only requests whose Host is a loopback name or an IP address.
 * Bound elsewhere (ADMIN_HOST=0.0.0.0 in a container) it is reached by service and host names,
 * and takes any Host.
 */
import { isIP } from 'node:net';

/** Whether the admin listener bound to `adminHost` should answer a request with this Host header. */
export function hostAllowed(adminHost: string, host: string | undefined): boolean {
  if (!isLoopback(adminHost) || host === undefined) return true;
  const name = hostnameOf(host).toLowerCase();
  return isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost');
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || address.startsWith('127.');
}

/** The host name of a Host header value: `[::1]:9091` → `::1`, `name:9091` → `name`. */
function hostnameOf(host: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(host);
  if (bracketed !== null) return bracketed[1] ?? '';
  return host.replace(/:\d*$/, '');
}
