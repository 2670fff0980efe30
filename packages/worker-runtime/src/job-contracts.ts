import { ACCOUNTS_JOBS } from '@orgshield/accounts';
import { DRILL_JOBS } from '@orgshield/drills';
import { FIREWALL_JOBS } from '@orgshield/firewall';
import { INVESTIGATIONS_JOBS } from '@orgshield/investigations';
import { RECORDING_JOBS } from '@orgshield/session-recording';

/**
 * Every job contract the worker runs, domain by domain. A new capability (drills, session
 * recording) adds its package's contracts here and its processors to allProcessors
 * (processor-registry.ts); the compiler then holds the two lists to each other.
 */
export const JOB_CONTRACTS = [...ACCOUNTS_JOBS, ...INVESTIGATIONS_JOBS, ...FIREWALL_JOBS, ...DRILL_JOBS, ...RECORDING_JOBS] as const;

/** The queues the registered contracts name: one per capability. */
export const QUEUE_NAMES: readonly string[] = [...new Set(JOB_CONTRACTS.map((contract) => contract.queue))];
