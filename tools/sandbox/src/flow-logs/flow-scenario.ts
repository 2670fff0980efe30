/** What a synthetic flow log describes: one instance's traffic over a window, with planted incidents. */
export type PlantedIncident =
  /** One remote IP probing `ports` local ports (1, 2, 3, ...) from one source port. */
  | { kind: 'port-scan'; remoteIp: string; at: Date; ports?: number; durationSeconds?: number }
  /** Many short accepted connections from one IP to an admin port. */
  | { kind: 'brute-force'; remoteIp: string; at: Date; port?: number; attempts?: number; durationSeconds?: number }
  /** Many new remote IPs hitting one local port within a few minutes. */
  | { kind: 'ddos'; at: Date; port?: number; sources?: number; durationSeconds?: number }
  /** A large accepted upload from the instance to one remote, from local port `localPort` (default 49152). */
  | { kind: 'exfiltration'; remoteIp: string; at: Date; remotePort?: number; localPort?: number; bytes?: number; durationSeconds?: number }
  /** The web traffic volume multiplied by `factor` for a while. */
  | { kind: 'spike'; at: Date; factor?: number; durationSeconds?: number };

export interface FlowLogScenario {
  seed: number;
  /** Window of the traffic, [from, to), whole minutes. */
  from: Date;
  to: Date;
  /** Average background records per minute. */
  recordsPerMinute: number;
  localIp: string;
  /** When set, a share of the web clients talk to this address over IPv6. */
  localIpv6?: string;
  accountId?: string;
  region?: string;
  interfaceId?: string;
  /** Distinct web client IPs (default 2,000). */
  webClients?: number;
  incidents?: readonly PlantedIncident[];
}
