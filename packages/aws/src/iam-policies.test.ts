import { describe, expect, it } from 'vitest';
import { renderIamRoles, type AwsOperationUse } from './iam-policies.js';

const USES: AwsOperationUse[] = [
  { service: 's3', operation: 'ListObjectsV2', account: 'member', role: 'member-account', actions: ['s3:ListBucket'] },
  { service: 's3', operation: 'GetObject', account: 'member', role: 'member-account' },
  { service: 'ec2', operation: 'DescribeInstances', account: 'member', role: 'member-account' },
  { service: 'sts', operation: 'AssumeRole', account: 'management', role: 'worker' },
];

describe('renderIamRoles', () => {
  it('grants each role exactly its operations as IAM names them, one statement per service', () => {
    const roles = renderIamRoles(USES, { workerAccountId: '111122223333', roleNames: { 'member-account': 'OrgshieldMember' } });
    expect(roles['member-account'].policy.Statement).toEqual([
      { Sid: 'Ec2Calls', Effect: 'Allow', Action: ['ec2:DescribeInstances'], Resource: '*' },
      { Sid: 'S3Calls', Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: '*' },
    ]);
    expect(roles['member-account'].trust.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::111122223333:role/orgshield-worker' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': 'ORGSHIELD_EXTERNAL_ID' } },
      },
    ]);
    // A role nothing calls with has no statement to grant.
    expect(roles['organization-reader'].policy.Statement).toEqual([]);
  });

  it("scopes the worker's AssumeRole to orgshield's roles instead of Resource *", () => {
    const worker = renderIamRoles(USES, { roleNames: { 'member-account': 'OrgshieldMember' } }).worker;
    expect(worker.policy.Statement).toEqual([
      {
        Sid: 'AssumeOrgshieldRoles',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: [
          'arn:aws:iam::*:role/OrgshieldMember',
          'arn:aws:iam::*:role/orgshield-detective-guardduty-reader',
          'arn:aws:iam::*:role/orgshield-firewall-manager-administrator',
          'arn:aws:iam::*:role/orgshield-organization-reader',
        ],
      },
    ]);
    expect(worker.trust.Statement[0]?.Principal).toEqual({ AWS: 'arn:aws:iam::WORKER_ACCOUNT_ID:root' });
  });
});
