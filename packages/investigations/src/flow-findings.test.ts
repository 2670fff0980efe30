import { describe, expect, it } from 'vitest';
import {
  BRUTE_FORCE_MIN_CONNECTIONS, type ConversationFacts, DDOS_MIN_NEW_REMOTE_IPS, detectBruteForce, detectDdos, detectExfiltration, detectFindings, detectPortScans,
  EXFILTRATION_MIN_BYTES, isMarkedConversation, PORT_SCAN_MIN_LOCAL_PORTS,
} from './flow-findings.js';
import type { TimelineBucket } from './flow-timeline.js';

const T = 1748736000;
const conversation = (over: Partial<ConversationFacts>): ConversationFacts => ({
  remoteIp: '198.51.100.7', localPort: 443, remotePort: 50000, protocol: 6, direction: 'inbound', inBytes: 1000, outBytes: 1000,
  inPackets: 4, outPackets: 4, acceptedOutBytes: 1000, accepted: 2, rejected: 0, firstSeenAt: T, lastSeenAt: T + 60, ...over,
});
const buckets = (n: number): TimelineBucket[] => Array.from({ length: n }, (_, i) => ({
  start: new Date((T + i * 300) * 1000).toISOString(), end: new Date((T + (i + 1) * 300) * 1000).toISOString(),
  inBytes: 0, outBytes: 0, accepted: 0, rejected: 0, baselineBytes: null, spike: false,
}));

describe('thresholds', () => {
  it('calls a port scan from PORT_SCAN_MIN_LOCAL_PORTS probed ports, counting refused probes but not outbound calls', () => {
    const probes = (n: number) => Array.from({ length: n }, (_, i) => conversation({ localPort: 1000 + i, remotePort: 500, direction: 'outbound', accepted: 0, rejected: 1 }));
    expect(detectPortScans(probes(PORT_SCAN_MIN_LOCAL_PORTS - 1))).toEqual([]);
    expect(detectPortScans(probes(PORT_SCAN_MIN_LOCAL_PORTS))).toHaveLength(1);
    const calls = Array.from({ length: 50 }, (_, i) => conversation({ localPort: 40000 + i, remotePort: 443, direction: 'outbound' }));
    expect(detectPortScans(calls)).toEqual([]);
  });

  it('calls brute force from enough short accepted connections to an admin port, not from long sessions', () => {
    const attempts = (n: number, over: Partial<ConversationFacts> = {}) => Array.from({ length: n }, (_, i) => conversation({ localPort: 22, remotePort: 40000 + i, ...over }));
    expect(detectBruteForce(attempts(BRUTE_FORCE_MIN_CONNECTIONS - 1))).toEqual([]);
    expect(detectBruteForce(attempts(BRUTE_FORCE_MIN_CONNECTIONS))).toEqual([expect.objectContaining({ kind: 'brute-force', localPort: 22 })]);
    expect(detectBruteForce(attempts(50, { lastSeenAt: T + 3600 }))).toEqual([]);
    expect(detectBruteForce(attempts(50, { localPort: 8080 }))).toEqual([]);
    expect(detectBruteForce(attempts(50, { accepted: 0, rejected: 1 }))).toEqual([]);
  });

  it('calls a DDoS when a bucket brings many new remote IPs against the port\'s baseline, never in the first buckets', () => {
    const flood = (bucket: number, n: number) => Array.from({ length: n }, (_, i) => conversation({ remoteIp: `198.18.${i >> 8}.${i & 255}`, firstSeenAt: T + bucket * 300 + 10 }));
    expect(detectDdos(flood(8, DDOS_MIN_NEW_REMOTE_IPS), buckets(12), 300)).toEqual([expect.objectContaining({ kind: 'ddos', localPort: 443 })]);
    expect(detectDdos(flood(8, DDOS_MIN_NEW_REMOTE_IPS - 1), buckets(12), 300)).toEqual([]);
    expect(detectDdos(flood(1, 5000), buckets(12), 300)).toEqual([]);
  });

  it('calls exfiltration from EXFILTRATION_MIN_BYTES accepted bytes out to one remote', () => {
    const upload = (bytes: number) => [conversation({ remotePort: 443, localPort: 50000, direction: 'outbound', outBytes: bytes, acceptedOutBytes: bytes })];
    expect(detectExfiltration(upload(EXFILTRATION_MIN_BYTES - 1))).toEqual([]);
    expect(detectExfiltration(upload(EXFILTRATION_MIN_BYTES))).toEqual([expect.objectContaining({ kind: 'exfiltration', remoteIp: '198.51.100.7' })]);
  });
});

describe('marks from a GuardDuty finding', () => {
  it('needs both the IP and a port when both are given', () => {
    const mark = { ips: ['198.51.100.7'], ports: [9001] };
    expect(isMarkedConversation(mark, '198.51.100.7', 50000, 9001)).toBe(true);
    expect(isMarkedConversation(mark, '198.51.100.7', 50000, 443)).toBe(false);
    expect(isMarkedConversation({ ips: ['198.51.100.7'], ports: [] }, '198.51.100.7', 50000, 443)).toBe(true);
    expect(isMarkedConversation(undefined, '198.51.100.7', 50000, 9001)).toBe(false);
  });

  it('marks findings about the finding\'s IP or port', () => {
    const big = conversation({ remotePort: 9001, direction: 'outbound', outBytes: EXFILTRATION_MIN_BYTES, acceptedOutBytes: EXFILTRATION_MIN_BYTES });
    const [finding] = detectFindings([big], buckets(1), 300, { ips: ['198.51.100.7'], ports: [9001] });
    expect(finding).toMatchObject({ kind: 'exfiltration', fromFinding: true });
    expect(detectFindings([big], buckets(1), 300, { ips: ['203.0.113.1'], ports: [] })[0]!.fromFinding).toBeUndefined();
    // A DDoS is about a local port: marked when the finding names that port.
    const flood = Array.from({ length: DDOS_MIN_NEW_REMOTE_IPS }, (_, i) => conversation({ remoteIp: `198.18.${i >> 8}.${i & 255}`, firstSeenAt: T + 8 * 300 + 10 }));
    expect(detectFindings(flood, buckets(12), 300, { ips: [], ports: [443] })).toEqual([expect.objectContaining({ kind: 'ddos', localPort: 443, fromFinding: true })]);
    expect(detectFindings(flood, buckets(12), 300, { ips: [], ports: [80] })[0]!.fromFinding).toBeUndefined();
  });
});
