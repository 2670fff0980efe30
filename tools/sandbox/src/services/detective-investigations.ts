import type { Indicator, Severity } from '@aws-sdk/client-detective';
import { incidentPlan, type SeededIncident } from '../world/seeded-incidents.js';
import type { World } from '../world/world.js';
import { indicatorsOf } from './detective-indicators.js';

/**
 * Detective's investigations of an IAM role or user: what they find is the incidents planted on the
 * entity within the scope; they run RUNNING -> SUCCESSFUL in INVESTIGATION_RUN_MS simulated.
 */

/** Detective needs a few minutes to run an investigation; scaled by the sandbox's --time-scale. */
export const INVESTIGATION_RUN_MS = 2 * 60_000;

export interface Investigation {
  id: string;
  entityArn: string;
  entityType: 'IAM_ROLE' | 'IAM_USER';
  createdTime: Date;
  scopeStart: Date;
  scopeEnd: Date;
  state: 'ACTIVE' | 'ARCHIVED';
  /** `world.clock` ms when it turns SUCCESSFUL. */
  readyAt: number;
  severity: Severity;
  indicators: Indicator[];
}

/** The investigations of one behavior graph, with the counter their ids come from. */
export interface InvestigationBook {
  investigations: Map<string, Investigation>;
  nextInvestigation: number;
}

export function investigationProgress(investigation: Investigation, now: Date): { Status: 'RUNNING' | 'SUCCESSFUL'; Severity?: Severity } {
  return now.getTime() >= investigation.readyAt ? { Status: 'SUCCESSFUL', Severity: investigation.severity } : { Status: 'RUNNING' };
}

export interface NewInvestigation {
  entityArn: string;
  scopeStart: Date;
  scopeEnd: Date;
  createdTime: Date;
  /** Real milliseconds it runs (already scaled). */
  runMs: number;
}

export function addInvestigation(world: World, graph: InvestigationBook, { entityArn, scopeStart, scopeEnd, createdTime, runMs }: NewInvestigation): Investigation {
  // Detective's ids are 21 digits.
  const id = String(100_000_000_000_000_000_000n + BigInt(graph.nextInvestigation++) * 7_919n + BigInt(world.seed));
  const planted = incidentPlan(world).incidents.filter(
    (incident) => incident.instance.roleArn === entityArn && incident.at.getTime() < scopeEnd.getTime() && incident.end.getTime() > scopeStart.getTime(),
  );
  const indicators = planted.flatMap((incident) => indicatorsOf(world, incident));
  const investigation: Investigation = {
    id,
    entityArn,
    entityType: entityArn.includes(':user/') ? 'IAM_USER' : 'IAM_ROLE',
    createdTime,
    scopeStart,
    scopeEnd,
    state: 'ACTIVE',
    readyAt: createdTime.getTime() + runMs,
    severity: severityOf(planted),
    indicators,
  };
  graph.investigations.set(id, investigation);
  return investigation;
}

function severityOf(incidents: SeededIncident[]): Severity {
  const kinds = new Set(incidents.map((incident) => incident.kind));
  if (kinds.has('tor-client')) return 'CRITICAL';
  if (kinds.has('dos-tcp')) return 'HIGH';
  if (kinds.has('ssh-brute-force') || kinds.has('port-probe')) return 'MEDIUM';
  return 'INFORMATIONAL';
}
