import { discoverOrganization, saveSnapshot } from '@orgshield/accounts';
import { orgSyncJob } from '@orgshield/jobs';
import type { Runtime } from './runtime.js';
import { processor, type ProcessorRegistration } from './worker-service.js';

/** Walks the organization and replaces the cached snapshot in one write. */
export function orgSyncProcessor(runtime: Runtime) {
  return processor(orgSyncJob, async (_payload, { progress }) => {
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

/** Every processor this worker runs; later capabilities add theirs here. */
export function allProcessors(runtime: Runtime): ProcessorRegistration[] {
  return [orgSyncProcessor(runtime)] as ProcessorRegistration[];
}
