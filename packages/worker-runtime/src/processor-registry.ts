import { discoverOrganization, orgSyncJob, saveSnapshot } from '@orgshield/accounts';
import { investigationClients, investigationRunJob, runInvestigation } from '@orgshield/investigations';
import { drillProcessors } from './drill-processors.js';
import { firewallProcessors } from './firewall-processors.js';
import { recordingProcessors } from './recording-processors.js';
import type { JOB_CONTRACTS } from './job-contracts.js';
import type { Runtime } from './runtime.js';
import { processor, type ProcessorMap, type ProcessorRegistration } from './worker-service.js';

/** Walks the organization and replaces the cached snapshot in one write. */
function orgSyncProcessor(runtime: Runtime) {
  return processor(orgSyncJob, async (payload, { progress, logger }) => {
    logger.info({ requestedBy: payload.requestedBy }, 'org sync requested');
    const started = Date.now();
    let lastReport = 0;
    const snapshot = await discoverOrganization(runtime.clients, {
      onProgress: ({ ous, accounts, tagged }) => {
        // Progress goes through Redis: at most a few updates a second, whatever the org size.
        if (Date.now() - lastReport < 250) return;
        lastReport = Date.now();
        void progress({ phase: 'discovering', done: tagged, total: accounts + ous, message: `${ous} OUs and ${accounts} accounts found, tags read for ${tagged}` });
      },
    });
    await saveSnapshot(runtime.redis, snapshot, { keyPrefix: runtime.keyPrefix });
    return {
      accounts: snapshot.accounts.length,
      ous: snapshot.ous.length,
      suspended: snapshot.accounts.filter((a) => a.status !== 'ACTIVE').length,
      fetchedAt: snapshot.fetchedAt,
      durationMs: Date.now() - started,
    };
  });
}

/** Detective, flow logs, reports: the whole investigation is one domain call. */
function investigationProcessor(runtime: Runtime) {
  return processor(investigationRunJob, async (payload, { job, progress }) => {
    const members = await runtime.members();
    return runInvestigation(
      {
        clients: investigationClients(runtime.clients, members, job.id),
        reportRoot: runtime.config.ORGSHIELD_REPORT_DIR,
        flowLogRoot: runtime.config.ORGSHIELD_FLOW_LOG_DIR,
      },
      payload,
      (p) => void progress(p),
    );
  });
}

/** One processor per registered contract, keyed by its name. */
export function allProcessors(runtime: Runtime): ProcessorMap<typeof JOB_CONTRACTS> {
  return {
    [orgSyncJob.name]: orgSyncProcessor(runtime),
    [investigationRunJob.name]: investigationProcessor(runtime),
    ...firewallProcessors(runtime),
    ...drillProcessors(runtime),
    ...recordingProcessors(runtime),
  };
}

/** The registrations of the processors for `queues` (all when absent), for a WorkerService. */
export function processorsFor(runtime: Runtime, queues?: readonly string[]): ProcessorRegistration[] {
  const registrations: ProcessorRegistration[] = Object.values(allProcessors(runtime));
  return queues === undefined ? registrations : registrations.filter((registration) => queues.includes(registration.contract.queue));
}
