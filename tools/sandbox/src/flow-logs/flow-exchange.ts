import { mix } from '../world/prng.js';
import type { FlowLogRecord } from './flow-log-format.js';
import type { FlowLogScenario } from './flow-scenario.js';

/*
 * What every kind of traffic shares: the scenario's context (pool sizes from the record rate) and
 * one exchange as the two records the instance's interface sees.
 */

/** Shares of the background's records per minute. */
const WEB_SHARE = 0.8;
const SERVICE_SHARE = 0.12;
const DNS_SHARE = 0.06;
const NOISE_SHARE = 0.02;

const EPHEMERAL_LOW = 32768;
const EPHEMERAL_SPAN = 28232; // Linux: 32768-60999
export const TCP = 6;
export const UDP = 17;
const SYN = 2;
const FIN = 1;
const SYN_ACK = 18;

export function ephemeralPort(...key: number[]): number {
  return EPHEMERAL_LOW + (mix(...key) % EPHEMERAL_SPAN);
}

/** A scenario with its defaults applied and its pool sizes worked out. */
export interface TrafficContext {
  scenario: FlowLogScenario;
  accountId: string;
  interfaceId: string;
  webClients: number;
  webSlots: number;
  serviceSlots: number;
  dnsQueries: number;
  noiseProbes: number;
}

export function trafficContext(scenario: FlowLogScenario): TrafficContext {
  const rpm = scenario.recordsPerMinute;
  return {
    scenario,
    accountId: scenario.accountId ?? '123456789012',
    interfaceId: scenario.interfaceId ?? 'eni-0a1b2c3d4e5f60718',
    webClients: scenario.webClients ?? 2000,
    webSlots: Math.max(1, Math.round((rpm * WEB_SHARE) / 2)),
    serviceSlots: Math.max(1, Math.round((rpm * SERVICE_SHARE) / 2)),
    dnsQueries: Math.max(1, Math.round((rpm * DNS_SHARE) / 2)),
    noiseProbes: Math.max(1, Math.round(rpm * NOISE_SHARE)),
  };
}

export function record(ctx: TrafficContext, fields: Partial<FlowLogRecord> & Pick<FlowLogRecord, 'start' | 'end'>): FlowLogRecord {
  const src = fields.srcaddr ?? null;
  return {
    version: 2,
    accountId: ctx.accountId,
    interfaceId: ctx.interfaceId,
    srcaddr: src,
    dstaddr: fields.dstaddr ?? null,
    srcport: fields.srcport ?? null,
    dstport: fields.dstport ?? null,
    protocol: fields.protocol ?? null,
    packets: fields.packets ?? null,
    bytes: fields.bytes ?? null,
    start: fields.start,
    end: fields.end,
    action: fields.action ?? null,
    logStatus: fields.logStatus ?? 'OK',
    tcpFlags: fields.tcpFlags ?? null,
    type: src === null ? null : src.includes(':') ? 'IPv6' : 'IPv4',
    flowDirection: src === null ? null : src === ctx.scenario.localIp || src === ctx.scenario.localIpv6 ? 'egress' : 'ingress',
  };
}

/**
 * One exchange as a flow log sees it on the instance's interface: the client's record and
 * the server's record, each with its own direction, both in the same capture window.
 */
export function exchange(
  ctx: TrafficContext,
  out: FlowLogRecord[],
  e: {
    client: string; clientPort: number; server: string; serverPort: number; protocol: number;
    up: number; down: number; start: number; opening: boolean; action?: 'ACCEPT' | 'REJECT';
  },
): void {
  const end = e.start + 55 + (e.clientPort % 5);
  const action = e.action ?? 'ACCEPT';
  const tcp = e.protocol === TCP;
  out.push(record(ctx, {
    srcaddr: e.client, dstaddr: e.server, srcport: e.clientPort, dstport: e.serverPort, protocol: e.protocol,
    packets: Math.max(1, Math.ceil(e.up / 1400)), bytes: e.up, start: e.start, end, action,
    tcpFlags: tcp ? (e.opening ? SYN | FIN : 0) : null,
  }));
  if (action === 'REJECT' || e.down === 0) return;
  out.push(record(ctx, {
    srcaddr: e.server, dstaddr: e.client, srcport: e.serverPort, dstport: e.clientPort, protocol: e.protocol,
    packets: Math.max(1, Math.ceil(e.down / 1400)), bytes: e.down, start: e.start, end, action,
    tcpFlags: tcp ? (e.opening ? SYN_ACK | FIN : 0) : null,
  }));
}
