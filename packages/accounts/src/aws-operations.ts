import type { AwsOperationUse } from '@orgshield/aws';

/** Every AWS operation this package calls (see @orgshield/aws iam-policies for how the list is used and checked). */
export const ACCOUNTS_AWS_OPERATIONS: readonly AwsOperationUse[] = [
  // Organization discovery, in the management account.
  { service: 'organizations', operation: 'DescribeOrganization', account: 'management', role: 'organization-reader' },
  { service: 'organizations', operation: 'ListRoots', account: 'management', role: 'organization-reader' },
  { service: 'organizations', operation: 'ListOrganizationalUnitsForParent', account: 'management', role: 'organization-reader' },
  { service: 'organizations', operation: 'ListAccountsForParent', account: 'management', role: 'organization-reader' },
  { service: 'organizations', operation: 'ListTagsForResource', account: 'management', role: 'organization-reader' },
  // Member credentials: the worker assumes the member role in each account it works in.
  { service: 'sts', operation: 'AssumeRole', account: 'management', role: 'worker' },
];
