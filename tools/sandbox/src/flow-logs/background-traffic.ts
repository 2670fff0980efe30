import { mix, mulberry32 } from '../world/prng.js';
import { ephemeralPort, exchange, record, TCP, type TrafficContext, UDP } from './flow-exchange.js';
import type { FlowLogRecord } from './flow-log-format.js';
import type { PlantedIncident } from './flow-scenario.js';

/*
 * The clean background of each minute: web clients, calls out to services, DNS and internet noise,
 * each drawn from a bounded pool so the number of distinct conversations stops growing.
 */

const PORTS_PER_WEB_CLIENT = 4;
const PORTS_PER_SERVICE_SLOT = 16;
/** The resolver client reuses this many source ports. */
const DNS_PORTS = 512;
const NOISE_POOL = 300;
const NOISE_PORTS = [22, 23, 80, 445, 1433, 3306, 3389, 5900, 6379, 8080];
const SERVICES = [
  { ip: '52.94.133.131', port: 443 },
  { ip: '54.239.28.85', port: 443 },
  { ip: '3.5.140.2', port: 443 },
  { ip: '10.0.3.10', port: 5432 },
];
const RESOLVER = '10.0.0.2';

/** Public-looking IPv4 addresses, away from private and special ranges. */
function clientIpv4(seed: number, index: number): string {
  const h = mix(seed, 6, index);
  const first = [24, 31, 45, 66, 73, 81, 89, 95, 109, 122, 131, 151, 176, 185, 203][h % 15]!;
  return `${first}.${(h >>> 4) & 255}.${(h >>> 12) & 255}.${1 + ((h >>> 20) % 254)}`;
}

function clientIpv6(seed: number, index: number): string {
  const h = mix(seed, 7, index);
  return `2001:db8:${(h & 0xffff).toString(16)}:${(h >>> 16).toString(16)}::${(index & 0xffff).toString(16)}`;
}

function noiseIp(seed: number, index: number): string {
  const h = mix(seed, 9, index);
  return `${[5, 45, 80, 92, 141, 167, 193, 212][h % 8]}.${(h >>> 3) & 255}.${(h >>> 11) & 255}.${1 + ((h >>> 19) % 254)}`;
}

function spikeFactor(incidents: readonly PlantedIncident[], second: number): number {
  let factor = 1;
  for (const incident of incidents) {
    if (incident.kind !== 'spike') continue;
    const at = incident.at.getTime() / 1000;
    if (second >= at && second < at + (incident.durationSeconds ?? 600)) factor *= incident.factor ?? 6;
  }
  return factor;
}

export function backgroundMinute(ctx: TrafficContext, minute: number, out: FlowLogRecord[]): void {
  const { scenario } = ctx;
  const seed = scenario.seed;
  const rnd = mulberry32(mix(seed, 100, minute));
  const t0 = minute * 60;
  const diurnal = 1 + 0.25 * Math.sin((2 * Math.PI * (minute % 1440)) / 1440);
  const volume = diurnal * spikeFactor(scenario.incidents ?? [], t0);
  const ipv6Every = scenario.localIpv6 === undefined ? 0 : 10;

  // Web clients on 443: keep-alive connections that live a few minutes, then the slot
  // moves on to another client (or the same client on its next ephemeral port).
  for (let s = 0; s < ctx.webSlots; s++) {
    const life = 2 + (mix(seed, 1, s) % 9);
    const age = minute + (mix(seed, 2, s) % life);
    const epoch = Math.floor(age / life);
    const client = mix(seed, 3, s, epoch) % ctx.webClients;
    const v6 = ipv6Every > 0 && client % ipv6Every === 0;
    exchange(ctx, out, {
      client: v6 ? clientIpv6(seed, client) : clientIpv4(seed, client),
      clientPort: ephemeralPort(seed, 5, client, mix(seed, 4, s, epoch) % PORTS_PER_WEB_CLIENT),
      server: v6 ? scenario.localIpv6! : scenario.localIp, serverPort: 443, protocol: TCP,
      up: 300 + Math.floor(rnd() * 1500), down: Math.floor((2000 + rnd() * 30000) * volume),
      start: t0 + Math.floor(rnd() * 4), opening: age % life === 0,
    });
  }

  // Calls out to a few services: small requests, larger answers.
  for (let s = 0; s < ctx.serviceSlots; s++) {
    const life = 5 + (mix(seed, 11, s) % 26);
    const age = minute + (mix(seed, 12, s) % life);
    const epoch = Math.floor(age / life);
    const service = SERVICES[s % SERVICES.length]!;
    exchange(ctx, out, {
      client: scenario.localIp, clientPort: ephemeralPort(seed, 13, s, epoch % PORTS_PER_SERVICE_SLOT),
      server: service.ip, serverPort: service.port, protocol: TCP,
      up: 100 + Math.floor(rnd() * 600), down: 1000 + Math.floor(rnd() * 40000),
      start: t0 + Math.floor(rnd() * 4), opening: age % life === 0,
    });
  }

  for (let q = 0; q < ctx.dnsQueries; q++) {
    exchange(ctx, out, {
      client: scenario.localIp, clientPort: ephemeralPort(seed, 14, mix(seed, 18, minute, q) % DNS_PORTS), server: RESOLVER, serverPort: 53,
      protocol: UDP, up: 60 + Math.floor(rnd() * 40), down: 100 + Math.floor(rnd() * 300),
      start: t0 + Math.floor(rnd() * 4), opening: true,
    });
  }

  // Internet background noise: each scanner always sends the same refused probe.
  for (let p = 0; p < ctx.noiseProbes; p++) {
    const scanner = Math.floor(rnd() * NOISE_POOL);
    exchange(ctx, out, {
      client: noiseIp(seed, scanner), clientPort: 40000 + (mix(seed, 10, scanner) % 20000),
      server: scenario.localIp, serverPort: NOISE_PORTS[mix(seed, 15, scanner) % NOISE_PORTS.length]!,
      protocol: TCP, up: 40 + Math.floor(rnd() * 40), down: 0, start: t0 + Math.floor(rnd() * 4),
      opening: true, action: 'REJECT',
    });
  }

  // Now and then the interface has nothing to report, or the capture skips a window.
  const quiet = mix(seed, 16, minute) % 2000;
  if (quiet < 4) out.push(record(ctx, { start: t0, end: t0 + 60, logStatus: quiet === 0 ? 'SKIPDATA' : 'NODATA' }));
}
