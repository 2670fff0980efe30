/** How reports write values for people: sizes, protocols, times. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${UNITS[unit]}`;
}

const PROTOCOLS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 58: 'icmpv6', 132: 'sctp' };

/** The protocol's name where it has a common one, else its number. */
export function protocolName(protocol: number): string {
  return PROTOCOLS[protocol] ?? String(protocol);
}

/** 2025-06-01T10:00:00.000Z -> 2025-06-01 10:00:00Z */
export function formatTime(iso: string | null): string {
  return iso === null ? '-' : iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
