import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrContains, ipBytes, normalizeIp, parseCidr, remoteFilterFor } from './flow-ip.js';

const toBigInt = (bytes: readonly number[]): bigint => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);

describe('normalizeIp', () => {
  it('keeps IPv4, writes IPv6 in RFC 5952 form and refuses the rest', () => {
    expect(normalizeIp('10.0.1.25')).toBe('10.0.1.25');
    expect(normalizeIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(normalizeIp('2600:1f18:abcd:0000::25')).toBe('2600:1f18:abcd::25');
    for (const bad of ['10.0.0.256', '010.0.0.1', '1.2.3', 'fe80::1%eth0', 'example.com', '']) expect(normalizeIp(bad)).toBeNull();
  });

  it('round-trips any IPv6 address through its bytes', () => {
    fc.assert(fc.property(fc.ipV6(), (ip) => {
      const normal = normalizeIp(ip);
      if (ip.includes('.')) return; // IPv4-mapped forms are written with a dotted tail
      expect(normal).not.toBeNull();
      expect(ipBytes(normal!)).toEqual(ipBytes(ip));
    }));
  });
});

describe('CIDR matching', () => {
  it('agrees with integer arithmetic for IPv4 and IPv6', () => {
    const v4 = fc.tuple(fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }), fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }));
    const v6 = fc.tuple(fc.array(fc.nat(255), { minLength: 16, maxLength: 16 }), fc.array(fc.nat(255), { minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }));
    fc.assert(fc.property(fc.oneof(v4, v6), ([network, address, prefix]) => {
      const bits = BigInt(network.length * 8);
      const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << (bits - BigInt(prefix));
      const expected = (toBigInt(network) & mask) === (toBigInt(address) & mask);
      const text = network.length === 4 ? network.join('.') : network.reduce<string[]>((g, b, i) => (i % 2 === 0 ? [...g, ((b << 8) | network[i + 1]!).toString(16)] : g), []).join(':');
      const cidr = parseCidr(`${text}/${prefix}`)!;
      expect(cidr).not.toBeNull();
      expect(cidrContains(cidr, Uint8Array.from(address))).toBe(expected);
    }));
  });

  it('refuses malformed CIDRs and never matches across families', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/8/8', '::/129', 'x/8']) expect(parseCidr(bad)).toBeNull();
    const any = remoteFilterFor(['0.0.0.0/0'])!;
    expect(any('203.0.113.9')).toBe(true);
    expect(any('2001:db8::1')).toBe(false);
    expect(remoteFilterFor([])).toBeNull();
  });
});
