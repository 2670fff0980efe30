import { backgroundMinute } from './background-traffic.js';
import { trafficContext } from './flow-exchange.js';
import type { FlowLogRecord } from './flow-log-format.js';
import type { FlowLogScenario } from './flow-scenario.js';
import { incidentMinute, incidentMinutes } from './planted-incidents.js';

/** Every record of the minutes in [from, to) (default: the scenario's window), minute by minute. */
export function* generateFlowRecords(scenario: FlowLogScenario, range?: { from: Date; to: Date }): Generator<FlowLogRecord> {
  const ctx = trafficContext(scenario);
  const first = Math.ceil((range ?? scenario).from.getTime() / 60000);
  const end = Math.ceil((range ?? scenario).to.getTime() / 60000);
  const incidents = (scenario.incidents ?? []).map((incident) => ({ incident, minutes: incidentMinutes(incident) }));
  const out: FlowLogRecord[] = [];
  for (let minute = first; minute < end; minute++) {
    out.length = 0;
    backgroundMinute(ctx, minute, out);
    for (const { incident, minutes } of incidents) {
      if (minute >= minutes[0] && minute < minutes[1]) incidentMinute(ctx, incident, minute, out);
    }
    yield* out;
  }
}
