import type { AwsOperationUse } from '@orgshield/aws';

const member = { account: 'member', role: 'member-account' } as const;

/** Every AWS operation this package calls (see @orgshield/aws iam-policies for how the list is used and checked). */
export const DRILLS_AWS_OPERATIONS: readonly AwsOperationUse[] = [
  // What a drill reads in each member account: source servers, their recovery points and launch settings.
  { service: 'drs', operation: 'DescribeSourceServers', ...member },
  { service: 'drs', operation: 'DescribeRecoverySnapshots', ...member },
  { service: 'drs', operation: 'GetLaunchConfiguration', ...member },
  { service: 'drs', operation: 'DescribeJobs', ...member },
  { service: 'drs', operation: 'DescribeJobLogItems', ...member },
  { service: 'drs', operation: 'DescribeRecoveryInstances', ...member },
  { service: 'ec2', operation: 'DescribeLaunchTemplateVersions', ...member },
  // The drill's own changes: a drill launch (isDrill) and the termination of its own instances.
  { service: 'drs', operation: 'StartRecovery', ...member },
  { service: 'drs', operation: 'TerminateRecoveryInstances', ...member },
];
