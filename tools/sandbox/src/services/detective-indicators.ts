import type { Indicator } from '@aws-sdk/client-detective';
import { randomInt } from '../world/prng.js';
import type { SeededIncident } from '../world/seeded-incidents.js';
import type { World } from '../world/world.js';
import { findingArnOf } from './guardduty.js';

/**
 * API calls the TorClient instance's role made through the Tor relay, by service, with the
 * MITRE ATT&CK tactic, technique and procedure Detective reports for them (its TTP indicators).
 */
const DISCOVERY_CALLS: readonly { service: string; tactic: string; technique: string; procedure: string; apis: readonly string[] }[] = [
  { service: 's3', tactic: 'Collection', technique: 'Data from Cloud Storage', procedure: 'Read objects of S3 buckets', apis: ['ListBuckets', 'GetBucketPolicy', 'GetBucketAcl', 'ListObjectsV2', 'GetObject', 'GetBucketLocation', 'GetBucketVersioning', 'GetBucketLogging', 'GetBucketEncryption', 'GetPublicAccessBlock'] },
  { service: 'iam', tactic: 'Discovery', technique: 'Account Discovery', procedure: 'Enumerated IAM principals and policies', apis: ['ListUsers', 'ListRoles', 'ListPolicies', 'GetAccountAuthorizationDetails', 'ListAccessKeys', 'ListAttachedRolePolicies', 'GetRole', 'ListGroups', 'ListInstanceProfiles', 'GetAccountSummary'] },
  { service: 'ec2', tactic: 'Discovery', technique: 'Cloud Infrastructure Discovery', procedure: 'Enumerated compute resources', apis: ['DescribeInstances', 'DescribeSecurityGroups', 'DescribeVpcs', 'DescribeSubnets', 'DescribeSnapshots', 'DescribeImages', 'DescribeVolumes', 'DescribeKeyPairs', 'DescribeRegions', 'DescribeAddresses'] },
  { service: 'sts', tactic: 'Credential Access', technique: 'Steal Application Access Token', procedure: 'Used instance credentials outside the instance', apis: ['GetCallerIdentity', 'GetSessionToken', 'GetAccessKeyInfo', 'DecodeAuthorizationMessage', 'AssumeRole', 'GetFederationToken', 'AssumeRoleWithWebIdentity', 'TagSession', 'GetServiceBearerToken', 'SetSourceIdentity'] },
  { service: 'kms', tactic: 'Discovery', technique: 'Cloud Service Discovery', procedure: 'Enumerated KMS keys', apis: ['ListKeys', 'ListAliases', 'DescribeKey', 'GetKeyPolicy', 'ListGrants', 'Decrypt', 'GenerateDataKey', 'ListKeyPolicies', 'GetKeyRotationStatus', 'ListResourceTags'] },
  { service: 'secretsmanager', tactic: 'Credential Access', technique: 'Credentials from Password Stores', procedure: 'Read secrets', apis: ['ListSecrets', 'GetSecretValue', 'DescribeSecret', 'GetResourcePolicy', 'ListSecretVersionIds', 'BatchGetSecretValue', 'GetRandomPassword', 'ValidateResourcePolicy', 'DescribeSecretRotation', 'ListTagsForSecret'] },
  { service: 'lambda', tactic: 'Discovery', technique: 'Cloud Service Discovery', procedure: 'Enumerated Lambda functions', apis: ['ListFunctions', 'GetFunction', 'GetPolicy', 'ListLayers', 'GetFunctionConfiguration', 'ListAliases', 'ListEventSourceMappings', 'GetAccountSettings', 'ListVersionsByFunction', 'ListTags'] },
  { service: 'rds', tactic: 'Discovery', technique: 'Cloud Infrastructure Discovery', procedure: 'Enumerated databases', apis: ['DescribeDBInstances', 'DescribeDBClusters', 'DescribeDBSnapshots', 'DescribeDBSubnetGroups', 'DescribeDBParameterGroups', 'DescribeEventSubscriptions', 'DescribeDBClusterSnapshots', 'DescribeOptionGroups', 'DescribeDBProxies', 'ListTagsForResource'] },
  { service: 'dynamodb', tactic: 'Collection', technique: 'Data from Information Repositories', procedure: 'Scanned DynamoDB tables', apis: ['ListTables', 'DescribeTable', 'Scan', 'ListBackups', 'DescribeContinuousBackups', 'ListGlobalTables', 'DescribeLimits', 'ListStreams', 'DescribeEndpoints', 'ListTagsOfResource'] },
  { service: 'ssm', tactic: 'Credential Access', technique: 'Unsecured Credentials', procedure: 'Read SSM parameters', apis: ['DescribeParameters', 'GetParameter', 'GetParametersByPath', 'DescribeInstanceInformation', 'ListDocuments', 'ListCommands', 'DescribeSessions', 'GetInventory', 'ListAssociations', 'DescribeMaintenanceWindows'] },
  { service: 'cloudtrail', tactic: 'Defense Evasion', technique: 'Impair Defenses', procedure: 'Inspected CloudTrail configuration', apis: ['DescribeTrails', 'GetTrailStatus', 'LookupEvents', 'GetEventSelectors', 'ListTrails', 'GetInsightSelectors', 'ListEventDataStores', 'GetTrail', 'ListChannels', 'ListImports'] },
  { service: 'logs', tactic: 'Discovery', technique: 'Log Enumeration', procedure: 'Read CloudWatch Logs', apis: ['DescribeLogGroups', 'DescribeLogStreams', 'FilterLogEvents', 'GetLogEvents', 'DescribeSubscriptionFilters', 'DescribeMetricFilters', 'DescribeDestinations', 'DescribeQueries', 'DescribeResourcePolicies', 'ListTagsForResource'] },
];

/** What Detective would find about the instance role of an incident's instance. */
export function indicatorsOf(world: World, incident: SeededIncident): Indicator[] {
  const related: Indicator = {
    IndicatorType: 'RELATED_FINDING',
    IndicatorDetail: { RelatedFindingDetail: { Arn: findingArnOf(world, incident), Type: incident.findingType, IpAddress: incident.remoteIp } },
  };
  const flagged: Indicator = {
    IndicatorType: 'FLAGGED_IP_ADDRESS',
    IndicatorDetail: { FlaggedIpAddressDetail: { IpAddress: incident.remoteIp, Reason: 'AWS_THREAT_INTELLIGENCE' } },
  };
  if (incident.kind !== 'tor-client') return [related, flagged];
  const random = world.random(`detective:ttp:${incident.findingId}`);
  const ttps: Indicator[] = DISCOVERY_CALLS.flatMap(({ service, tactic, technique, procedure, apis }) =>
    apis.map((api): Indicator => {
      return {
        IndicatorType: 'TTP_OBSERVED',
        IndicatorDetail: {
          TTPsObservedDetail: {
            Tactic: tactic,
            Technique: technique,
            Procedure: procedure,
            IpAddress: incident.remoteIp,
            APIName: `${service}:${api}`,
            APISuccessCount: randomInt(random, 1, 40),
            APIFailureCount: randomInt(random, 0, 12),
          },
        },
      };
    }),
  );
  return [
    related,
    flagged,
    {
      IndicatorType: 'NEW_GEOLOCATION',
      IndicatorDetail: { NewGeolocationDetail: { Location: `${incident.remote.city}, ${incident.remote.countryCode}`, IpAddress: incident.remoteIp, IsNewForEntireAccount: true } },
    },
    { IndicatorType: 'NEW_ASO', IndicatorDetail: { NewAsoDetail: { Aso: incident.remote.asnOrg, IsNewForEntireAccount: true } } },
    { IndicatorType: 'NEW_USER_AGENT', IndicatorDetail: { NewUserAgentDetail: { UserAgent: 'aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64', IsNewForEntireAccount: false } } },
    ...ttps,
  ];
}
