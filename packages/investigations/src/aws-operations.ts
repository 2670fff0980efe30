import type { AwsOperationUse } from '@orgshield/aws';

/** Every AWS operation this package calls (see @orgshield/aws iam-policies for how the list is used and checked). */
export const INVESTIGATIONS_AWS_OPERATIONS: readonly AwsOperationUse[] = [
  // Detective, as the caller or in the delegated administrator account.
  { service: 'detective', operation: 'ListGraphs', account: 'delegated-administrator', role: 'detective-guardduty-reader' },
  { service: 'detective', operation: 'ListOrganizationAdminAccounts', account: 'delegated-administrator', role: 'detective-guardduty-reader' },
  { service: 'detective', operation: 'GetMembers', account: 'delegated-administrator', role: 'detective-guardduty-reader' },
  { service: 'detective', operation: 'BatchGetGraphMemberDatasources', account: 'delegated-administrator', role: 'detective-guardduty-reader' },
  { service: 'detective', operation: 'ListInvestigations', account: 'delegated-administrator', role: 'detective-guardduty-reader' },
  { service: 'detective', operation: 'GetInvestigation', account: 'delegated-administrator', role: 'detective-guardduty-reader' },
  // Starts Detective's own analysis of an entity; it changes nothing in the accounts.
  { service: 'detective', operation: 'StartInvestigation', account: 'delegated-administrator', role: 'detective-guardduty-reader' },
  { service: 'detective', operation: 'ListIndicators', account: 'delegated-administrator', role: 'detective-guardduty-reader' },
  // GuardDuty findings of the organization's members, through the delegated administrator's detector.
  { service: 'guardduty', operation: 'ListDetectors', account: 'delegated-administrator', role: 'detective-guardduty-reader' },
  { service: 'guardduty', operation: 'ListFindings', account: 'delegated-administrator', role: 'detective-guardduty-reader' },
  { service: 'guardduty', operation: 'GetFindings', account: 'delegated-administrator', role: 'detective-guardduty-reader' },
  // The member account under investigation: what an address is, its VPC's ranges, its flow logs and where they are.
  { service: 'ec2', operation: 'DescribeInstances', account: 'member', role: 'member-account' },
  { service: 'ec2', operation: 'DescribeNetworkInterfaces', account: 'member', role: 'member-account' },
  // The interface's VPC: its address blocks tell an internal transfer from exfiltration.
  { service: 'ec2', operation: 'DescribeVpcs', account: 'member', role: 'member-account' },
  { service: 'ec2', operation: 'DescribeFlowLogs', account: 'member', role: 'member-account' },
  { service: 's3', operation: 'ListObjectsV2', account: 'member', role: 'member-account', actions: ['s3:ListBucket'] },
  { service: 's3', operation: 'GetObject', account: 'member', role: 'member-account' },
];
