/** The flow log record and its text format: the fields, their order and the `-` of missing values. */
/** The fields of the default format, in its order (flow log version 2). */
export const DEFAULT_FLOW_LOG_FIELDS = [
  'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport',
  'protocol', 'packets', 'bytes', 'start', 'end', 'action', 'log-status',
] as const;

/** A custom format as a user might choose it: fields of versions 2 to 5, in another order. */
export const CUSTOM_FLOW_LOG_FIELDS = [
  'version', 'vpc-id', 'subnet-id', 'instance-id', 'interface-id', 'account-id', 'type',
  'srcaddr', 'dstaddr', 'srcport', 'dstport', 'pkt-srcaddr', 'pkt-dstaddr', 'protocol',
  'bytes', 'packets', 'start', 'end', 'action', 'tcp-flags', 'log-status', 'region', 'az-id',
  'flow-direction', 'traffic-path',
] as const;

export type GeneratedFlowField = (typeof CUSTOM_FLOW_LOG_FIELDS)[number];

export interface FlowLogRecord {
  version: number;
  accountId: string;
  interfaceId: string;
  /** null on NODATA and SKIPDATA records, which carry `-` in every traffic field. */
  srcaddr: string | null;
  dstaddr: string | null;
  srcport: number | null;
  dstport: number | null;
  protocol: number | null;
  packets: number | null;
  bytes: number | null;
  start: number;
  end: number;
  action: 'ACCEPT' | 'REJECT' | null;
  logStatus: 'OK' | 'NODATA' | 'SKIPDATA';
  tcpFlags: number | null;
  type: 'IPv4' | 'IPv6' | null;
  flowDirection: 'ingress' | 'egress' | null;
}

function dash(value: string | number | null): string {
  return value === null ? '-' : String(value);
}

export function flowFieldValue(r: FlowLogRecord, field: GeneratedFlowField): string {
  switch (field) {
    case 'version': return r.version === 2 ? '2' : dash(r.version);
    case 'account-id': return r.accountId;
    case 'interface-id': return r.interfaceId;
    case 'srcaddr': case 'pkt-srcaddr': return dash(r.srcaddr);
    case 'dstaddr': case 'pkt-dstaddr': return dash(r.dstaddr);
    case 'srcport': return dash(r.srcport);
    case 'dstport': return dash(r.dstport);
    case 'protocol': return dash(r.protocol);
    case 'packets': return dash(r.packets);
    case 'bytes': return dash(r.bytes);
    case 'start': return String(r.start);
    case 'end': return String(r.end);
    case 'action': return dash(r.action);
    case 'log-status': return r.logStatus;
    case 'tcp-flags': return dash(r.tcpFlags);
    case 'type': return dash(r.type);
    case 'flow-direction': return dash(r.flowDirection);
    case 'vpc-id': return 'vpc-0f1e2d3c4b5a69788';
    case 'subnet-id': return 'subnet-0123456789abcdef0';
    case 'instance-id': return 'i-0abc1234def567890';
    case 'region': return 'us-east-1';
    case 'az-id': return 'use1-az1';
    case 'traffic-path': return r.flowDirection === 'egress' ? '1' : '-';
  }
}

/** One record as a line of the given format (no newline). */
export function formatFlowRecord(r: FlowLogRecord, fields: readonly GeneratedFlowField[] = DEFAULT_FLOW_LOG_FIELDS): string {
  if (fields === DEFAULT_FLOW_LOG_FIELDS) {
    // The benchmark writes millions of these: skip the per-field dispatch.
    return `2 ${r.accountId} ${r.interfaceId} ${dash(r.srcaddr)} ${dash(r.dstaddr)} ${dash(r.srcport)} ${dash(r.dstport)} ${dash(r.protocol)} ${dash(r.packets)} ${dash(r.bytes)} ${r.start} ${r.end} ${dash(r.action)} ${r.logStatus}`;
  }
  return fields.map((field) => flowFieldValue(r, field)).join(' ');
}
