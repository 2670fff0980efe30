import type { AwsOperationUse } from '@orgshield/aws';

const member = { account: 'member', role: 'member-account' } as const;
const s3 = (operation: string, ...actions: string[]): AwsOperationUse => ({ service: 's3', operation, ...member, ...(actions.length ? { actions } : {}) });

/** Every AWS operation this package calls (see @orgshield/aws iam-policies for how the list is used and checked). */
export const SESSION_RECORDING_AWS_OPERATIONS: readonly AwsOperationUse[] = [
  // The recording bucket: read first, then set what is missing. S3's IAM actions differ from its operation names.
  s3('HeadBucket', 's3:ListBucket'),
  s3('CreateBucket'),
  s3('GetBucketEncryption', 's3:GetEncryptionConfiguration'),
  s3('PutBucketEncryption', 's3:PutEncryptionConfiguration'),
  s3('GetBucketVersioning'),
  s3('PutBucketVersioning'),
  s3('GetPublicAccessBlock', 's3:GetBucketPublicAccessBlock'),
  s3('PutPublicAccessBlock', 's3:PutBucketPublicAccessBlock'),
  s3('GetBucketLifecycleConfiguration', 's3:GetLifecycleConfiguration'),
  s3('PutBucketLifecycleConfiguration', 's3:PutLifecycleConfiguration'),
  s3('GetBucketPolicy'),
  s3('PutBucketPolicy'),
  // Erasure records, and a person's recordings: listed by version, exported, erased.
  s3('PutObject'),
  s3('ListObjectVersions', 's3:ListBucketVersions'),
  s3('DeleteObjects', 's3:DeleteObject', 's3:DeleteObjectVersion'),
  // The pseudonym key.
  { service: 'secretsmanager', operation: 'DescribeSecret', ...member },
  { service: 'secretsmanager', operation: 'CreateSecret', ...member },
  { service: 'secretsmanager', operation: 'GetSecretValue', ...member },
  // ... or the SSM SecureString variant (the parameter is encrypted with the account's aws/ssm key).
  { service: 'ssm', operation: 'GetParameter', ...member },
  // Tags on a new parameter need AddTagsToResource as well.
  { service: 'ssm', operation: 'PutParameter', ...member, actions: ['ssm:PutParameter', 'ssm:AddTagsToResource'] },
  // The fleet role.
  { service: 'iam', operation: 'GetRole', ...member },
  { service: 'iam', operation: 'CreateRole', ...member },
  { service: 'iam', operation: 'UpdateAssumeRolePolicy', ...member },
  { service: 'iam', operation: 'GetRolePolicy', ...member },
  { service: 'iam', operation: 'PutRolePolicy', ...member },
  // AppStream: builder, fleet, stack, users, usage reports; sessions for the audit.
  ...[
    'DescribeImageBuilders',
    'CreateImageBuilder',
    'StartImageBuilder',
    'DescribeImages',
    'CreateUpdatedImage',
    'DescribeFleets',
    'CreateFleet',
    'StartFleet',
    'UpdateFleet',
    'DescribeStacks',
    'CreateStack',
    'ListAssociatedFleets',
    'ListAssociatedStacks',
    'AssociateFleet',
    'DescribeUsers',
    'CreateUser',
    'DescribeUserStackAssociations',
    'BatchAssociateUserStack',
    'DescribeUsageReportSubscriptions',
    'CreateUsageReportSubscription',
    'DescribeSessions',
    'ListTagsForResource',
  ].map((operation): AwsOperationUse => ({ service: 'appstream', operation, ...member })),
];
