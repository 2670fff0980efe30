/**
 * IP addresses as flow logs write them: IPv4 dotted quads and IPv6 in RFC 5952 form
 * (lower case, longest zero run compressed). User input is normalized to the same form
 * so addresses compare as text.
 */
import { isIPv4, isIPv6 } from 'node:net';

const IPV4 = /^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/;

/** The address in the form flow logs use, or null when it is not an IP address. */
export function normalizeIp(text: string): string | null {
  if (IPV4.test(text) && isIPv4(text)) return text;
  if (!isIPv6(text) || text.includes('%')) return null;
  // WHATWG URL serializes IPv6 hosts exactly as RFC 5952 asks.
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/** The address as bytes (4 or 16), or null when it is not an IP address. */
export function ipBytes(text: string): Uint8Array | null {
  if (IPV4.test(text) && isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!isIPv6(text) || text.includes('%')) return null;
  const full = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const [head = '', tail] = full.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 255;
  });
  return bytes;
}

export interface Cidr {
  text: string;
  bytes: Uint8Array;
  prefix: number;
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128); null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const [address = '', prefixText, extra] = text.split('/');
  if (extra !== undefined) return null;
  const bytes = ipBytes(address);
  if (bytes === null) return null;
  const max = bytes.length * 8;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return null;
  return { text, bytes, prefix };
}

export function cidrContains(cidr: Cidr, address: Uint8Array): boolean {
  if (address.length !== cidr.bytes.length) return false;
  const whole = cidr.prefix >> 3;
  for (let i = 0; i < whole; i++) if (address[i] !== cidr.bytes[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((address[whole]! ^ cidr.bytes[whole]!) & mask) === 0;
}

/** Whether an address is in one of these CIDRs (or is one of these addresses); malformed ones are left out. */
export function insideRanges(ranges: readonly string[]): (address: string) => boolean {
  const cidrs = ranges.map((text) => parseCidr(text)).filter((cidr): cidr is Cidr => cidr !== null);
  return (address) => {
    const bytes = ipBytes(address);
    return bytes !== null && cidrs.some((cidr) => cidrContains(cidr, bytes));
  };
}

/** A predicate for the remote filter (null: no filter). */
export function remoteFilterFor(remote: readonly string[]): ((address: string) => boolean) | null {
  return remote.length === 0 ? null : insideRanges(remote);
}

/** murmur3's 32-bit finalizer: neighbouring addresses and keys land far apart (an unsigned 32-bit result). */
export function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
