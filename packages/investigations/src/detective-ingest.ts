import type { TimeWindow } from './investigation-window.js';

export type IngestState = 'STARTED' | 'STOPPED' | 'DISABLED';

/** Detective's DatasourcePackageIngestHistory for one package: the last time each state was entered. */
export type IngestHistory = Partial<Record<IngestState, Date>>;

export type IngestCoverage = 'ingesting' | 'not-ingesting' | 'partial' | 'unknown';

interface Segment {
  from: number;
  to: number;
  /** Was the package ingesting in [from, to)? undefined when the history cannot tell. */
  ingesting: boolean | undefined;
}

/**
 * Was a datasource package (DETECTIVE_CORE) ingesting during the window? Detective keeps only
 * the last time each state was entered, which pins the state down from the second-latest
 * change onwards: after the latest change the package is in that state, and between the two
 * latest changes it is in the second-latest state (any other change in between would have
 * moved some state's last date past it). Before the second-latest change the state is only
 * known when STARTED was never entered. 'partial' means certainly ingesting for part of the
 * window and certainly not for another part; 'unknown' means the history cannot say.
 */
export function ingestCoverage(history: IngestHistory, window: TimeWindow): IngestCoverage {
  const from = window.from.getTime();
  const to = window.to.getTime();
  let sawTrue = false;
  let sawFalse = false;
  let sawUnknown = false;
  for (const segment of segments(history)) {
    if (segment.to <= from || segment.from >= to) continue;
    if (segment.ingesting === true) sawTrue = true;
    else if (segment.ingesting === false) sawFalse = true;
    else sawUnknown = true;
  }
  if (sawUnknown) return 'unknown';
  if (sawTrue && sawFalse) return 'partial';
  return sawTrue ? 'ingesting' : 'not-ingesting';
}

function segments(history: IngestHistory): Segment[] {
  const changes = (Object.entries(history) as [IngestState, Date][])
    .map(([state, at]) => ({ state, at: at.getTime() }))
    .sort((a, b) => b.at - a.at);
  const [latest, previous] = changes;
  if (!latest) return [{ from: -Infinity, to: Infinity, ingesting: false }];
  const everStarted = history.STARTED !== undefined;
  const result: Segment[] = [{ from: latest.at, to: Infinity, ingesting: latest.state === 'STARTED' }];
  if (!previous) {
    // One state ever entered: nothing was ingesting before it.
    result.push({ from: -Infinity, to: latest.at, ingesting: false });
    return result;
  }
  result.push({ from: previous.at, to: latest.at, ingesting: previous.state === 'STARTED' });
  result.push({ from: -Infinity, to: previous.at, ingesting: everStarted ? undefined : false });
  return result;
}

/** One sentence for the report. */
export function describeIngestCoverage(coverage: IngestCoverage, accountId: string, window: TimeWindow): string {
  const span = `${window.from.toISOString()} to ${window.to.toISOString()}`;
  switch (coverage) {
    case 'ingesting':
      return `Detective ingested DETECTIVE_CORE for account ${accountId} throughout ${span}.`;
    case 'not-ingesting':
      return `Detective was not ingesting DETECTIVE_CORE for account ${accountId} at any time from ${span}; it knows nothing of this window.`;
    case 'partial':
      return `Detective ingested DETECTIVE_CORE for account ${accountId} for only part of ${span}; its view of this window is incomplete.`;
    case 'unknown':
      return `Detective's ingest history for account ${accountId} cannot tell whether DETECTIVE_CORE was ingesting from ${span}.`;
  }
}
