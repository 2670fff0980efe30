import { mix } from '../world/prng.js';
import { ephemeralPort, exchange, TCP, type TrafficContext } from './flow-exchange.js';
import type { FlowLogRecord } from './flow-log-format.js';
import type { PlantedIncident } from './flow-scenario.js';

/* The records of planted incidents (scans, brute force, DDoS, exfiltration), minute by minute. */

/** DDoS sources come from 198.18.0.0/15 (the benchmarking range), one per index. */
function ddosIp(index: number): string {
  return `198.${18 + ((index >>> 16) & 1)}.${(index >>> 8) & 255}.${index & 255}`;
}

/** Spread `count` events evenly over [at, at + duration): the events of this minute. */
function eventsInMinute(at: number, duration: number, count: number, minute: number): [number, number] {
  const t0 = minute * 60;
  const first = Math.max(0, Math.ceil(((t0 - at) * count) / duration));
  const last = Math.min(count, Math.ceil(((t0 + 60 - at) * count) / duration));
  return [first, Math.max(first, last)];
}

export function incidentMinute(ctx: TrafficContext, incident: PlantedIncident, minute: number, out: FlowLogRecord[]): void {
  const local = ctx.scenario.localIp;
  const at = Math.floor(incident.at.getTime() / 1000);
  const t0 = minute * 60;
  switch (incident.kind) {
    case 'port-scan': {
      const [a, b] = eventsInMinute(at, incident.durationSeconds ?? 120, incident.ports ?? 300, minute);
      for (let i = a; i < b; i++) {
        const port = i + 1;
        const open = port === 22 || port === 443;
        exchange(ctx, out, {
          client: incident.remoteIp, clientPort: 54321, server: local, serverPort: port, protocol: TCP,
          up: 44, down: open ? 44 : 0, start: t0, opening: true, action: open ? 'ACCEPT' : 'REJECT',
        });
      }
      return;
    }
    case 'brute-force': {
      const [a, b] = eventsInMinute(at, incident.durationSeconds ?? 600, incident.attempts ?? 300, minute);
      for (let i = a; i < b; i++) {
        exchange(ctx, out, {
          client: incident.remoteIp, clientPort: 41000 + i, server: local, serverPort: incident.port ?? 22,
          protocol: TCP, up: 2000 + (mix(i, 1) % 2000), down: 2000 + (mix(i, 2) % 1000), start: t0, opening: true,
        });
      }
      return;
    }
    case 'ddos': {
      const sources = incident.sources ?? 3000;
      const [a, b] = eventsInMinute(at, incident.durationSeconds ?? 300, sources, minute);
      for (let i = a; i < b; i++) {
        exchange(ctx, out, {
          client: ddosIp(i), clientPort: ephemeralPort(i, 17), server: local, serverPort: incident.port ?? 443,
          protocol: TCP, up: 50000 + (mix(i, 3) % 150000), down: 500, start: t0, opening: true,
        });
      }
      return;
    }
    case 'exfiltration': {
      const duration = incident.durationSeconds ?? 1800;
      const minutes = Math.ceil(duration / 60);
      const index = minute - Math.floor(at / 60);
      if (index < 0 || index >= minutes) return;
      exchange(ctx, out, {
        client: local, clientPort: incident.localPort ?? 49152, server: incident.remoteIp, serverPort: incident.remotePort ?? 443,
        protocol: TCP, up: Math.floor((incident.bytes ?? 3 * 2 ** 30) / minutes), down: 20000, start: t0,
        opening: index === 0,
      });
      return;
    }
    case 'spike':
      return; // shapes the background's volume instead
  }
}

export function incidentMinutes(incident: PlantedIncident): [number, number] {
  const at = incident.at.getTime() / 1000;
  const duration = incident.durationSeconds ?? { 'port-scan': 120, 'brute-force': 600, ddos: 300, exfiltration: 1800, spike: 600 }[incident.kind];
  return [Math.floor(at / 60), Math.ceil((at + duration) / 60)];
}
