import { ACCOUNTS_AWS_OPERATIONS } from '@orgshield/accounts';
import { AWS_CLIENT_OPERATIONS, type AwsOperationUse } from '@orgshield/aws';
import { DRILLS_AWS_OPERATIONS } from '@orgshield/drills';
import { FIREWALL_AWS_OPERATIONS } from '@orgshield/firewall';
import { INVESTIGATIONS_AWS_OPERATIONS } from '@orgshield/investigations';
import { SESSION_RECORDING_AWS_OPERATIONS } from '@orgshield/session-recording';

/** `orgshield demo` looks up the planted GuardDuty finding it then investigates. */
export const DEMO_AWS_OPERATIONS: readonly AwsOperationUse[] = [
  { service: 'guardduty', operation: 'ListDetectors', account: 'delegated-administrator', role: 'detective-guardduty-reader' },
  { service: 'guardduty', operation: 'GetFindings', account: 'delegated-administrator', role: 'detective-guardduty-reader' },
];

/**
 * Every AWS operation orgshield calls: each package's own list, put together. A package that
 * starts calling AWS adds its list here; the drift test
 * (iam-command.test.ts) fails until it does.
 */
export const ORGSHIELD_AWS_OPERATIONS: readonly AwsOperationUse[] = [
  ...AWS_CLIENT_OPERATIONS,
  ...ACCOUNTS_AWS_OPERATIONS,
  ...FIREWALL_AWS_OPERATIONS,
  ...INVESTIGATIONS_AWS_OPERATIONS,
  ...DRILLS_AWS_OPERATIONS,
  ...SESSION_RECORDING_AWS_OPERATIONS,
  ...DEMO_AWS_OPERATIONS,
];
