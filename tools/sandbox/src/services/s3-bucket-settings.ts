import type {
  DeleteBucketEncryptionRequest,
  DeleteBucketLifecycleRequest,
  DeleteBucketPolicyRequest,
  DeletePublicAccessBlockRequest,
  GetBucketEncryptionOutput,
  GetBucketEncryptionRequest,
  GetBucketLifecycleConfigurationOutput,
  GetBucketLifecycleConfigurationRequest,
  GetBucketPolicyOutput,
  GetBucketPolicyRequest,
  GetBucketVersioningOutput,
  GetBucketVersioningRequest,
  GetPublicAccessBlockOutput,
  GetPublicAccessBlockRequest,
  LifecycleRule,
  PutBucketEncryptionRequest,
  PutBucketLifecycleConfigurationRequest,
  PutBucketPolicyRequest,
  PutBucketVersioningRequest,
  PutPublicAccessBlockRequest,
} from '@aws-sdk/client-s3';
import type { Handler, RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { resolveKmsKey } from './kms.js';
import { accessDenied, invalidArgument, ownedBucket, type S3Bucket } from './s3-buckets.js';

/** S3 allows at most 1,000 lifecycle rules per bucket. */
const MAX_LIFECYCLE_RULES = 1000;

/**
 * Bucket settings: versioning, default encryption, policy, public access block, and lifecycle, each the owner's alone. What S3 checks when a setting is put is modelled (a policy
 * must be JSON; BlockPublicPolicy refuses a public policy; an SSE-KMS default needs an existing
 * key; lifecycle rule ids are unique and expirations positive); what the settings then do is
 * stored: a policy's Deny statements are enforced on object requests (s3-bucket-policy.ts),
 * lifecycle rules expire nothing.
 */
export const bucketSettingsHandlers = {
  GetBucketVersioning(input: GetBucketVersioningRequest, ctx): GetBucketVersioningOutput {
    const bucket = ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
    return { Status: bucket.versioning };
  },

  PutBucketVersioning(input: PutBucketVersioningRequest, ctx): void {
    const bucket = ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
    const status = input.VersioningConfiguration?.Status;
    if (status === undefined) throw malformedXml();
    if (input.VersioningConfiguration?.MFADelete === 'Enabled') {
      throw new ServiceError('InvalidRequest', 'DevPay and Mfa are mutually exclusive authorization methods.', { status: 400 });
    }
    bucket.versioning = status;
  },

  GetBucketEncryption(input: GetBucketEncryptionRequest, ctx): GetBucketEncryptionOutput {
    const { encryption } = ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
    return {
      ServerSideEncryptionConfiguration: {
        Rules: [
          {
            ApplyServerSideEncryptionByDefault: { SSEAlgorithm: encryption.algorithm, KMSMasterKeyID: encryption.kmsMasterKeyId },
            BucketKeyEnabled: encryption.bucketKeyEnabled ?? false,
          },
        ],
      },
    };
  },

  PutBucketEncryption(input: PutBucketEncryptionRequest, ctx): void {
    const bucket = ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
    const rules = input.ServerSideEncryptionConfiguration?.Rules ?? [];
    const rule = rules[0];
    const byDefault = rule?.ApplyServerSideEncryptionByDefault;
    if (rules.length !== 1 || !byDefault?.SSEAlgorithm) throw malformedXml();
    const algorithm = byDefault.SSEAlgorithm;
    if (algorithm === 'AES256') {
      if (byDefault.KMSMasterKeyID !== undefined) throw invalidArgument('a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse');
    } else if (algorithm === 'aws:kms' || algorithm === 'aws:kms:dsse') {
      if (byDefault.KMSMasterKeyID !== undefined) checkKmsKey(ctx, bucket, byDefault.KMSMasterKeyID);
    } else {
      throw invalidArgument(`The encryption method specified is not supported: ${algorithm}`);
    }
    bucket.encryption = { algorithm, kmsMasterKeyId: byDefault.KMSMasterKeyID, bucketKeyEnabled: rule?.BucketKeyEnabled ?? false };
  },

  DeleteBucketEncryption(input: DeleteBucketEncryptionRequest, ctx): void {
    // Every bucket keeps SSE-S3 at least; deleting the configuration goes back to it.
    ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner).encryption = { algorithm: 'AES256', bucketKeyEnabled: false };
  },

  GetBucketPolicy(input: GetBucketPolicyRequest, ctx): GetBucketPolicyOutput {
    const bucket = ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
    if (bucket.policy === undefined) throw new ServiceError('NoSuchBucketPolicy', 'The bucket policy does not exist', { status: 404, fields: { BucketName: bucket.name } });
    return { Policy: bucket.policy };
  },

  PutBucketPolicy(input: PutBucketPolicyRequest, ctx): void {
    const bucket = ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
    const policy = input.Policy ?? '';
    let statements: unknown[];
    try {
      const parsed = JSON.parse(policy) as { Statement?: unknown };
      statements = Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement];
      if (!policy.trimStart().startsWith('{') || parsed.Statement === undefined) throw new Error('no statements');
    } catch {
      throw new ServiceError('MalformedPolicy', 'Policies must be valid JSON and the first byte must be \'{\'', { status: 400 });
    }
    for (const statement of statements) {
      const { Resource: resource } = (statement ?? {}) as { Resource?: unknown };
      const resources = Array.isArray(resource) ? resource : [resource];
      if (!resources.every((r) => typeof r === 'string' && (r === `arn:aws:s3:::${bucket.name}` || r.startsWith(`arn:aws:s3:::${bucket.name}/`)))) {
        throw new ServiceError('MalformedPolicy', 'Policy has invalid resource', { status: 400 });
      }
    }
    if (bucket.publicAccessBlock?.BlockPublicPolicy && statements.some(isPublicStatement)) throw accessDenied();
    bucket.policy = policy;
  },

  DeleteBucketPolicy(input: DeleteBucketPolicyRequest, ctx): void {
    ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner).policy = undefined;
  },

  GetPublicAccessBlock(input: GetPublicAccessBlockRequest, ctx): GetPublicAccessBlockOutput {
    const bucket = ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
    if (!bucket.publicAccessBlock) {
      throw new ServiceError('NoSuchPublicAccessBlockConfiguration', 'The public access block configuration was not found', { status: 404, fields: { BucketName: bucket.name } });
    }
    return { PublicAccessBlockConfiguration: { ...bucket.publicAccessBlock } };
  },

  PutPublicAccessBlock(input: PutPublicAccessBlockRequest, ctx): void {
    const bucket = ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
    const c = input.PublicAccessBlockConfiguration ?? {};
    bucket.publicAccessBlock = {
      BlockPublicAcls: c.BlockPublicAcls ?? false,
      IgnorePublicAcls: c.IgnorePublicAcls ?? false,
      BlockPublicPolicy: c.BlockPublicPolicy ?? false,
      RestrictPublicBuckets: c.RestrictPublicBuckets ?? false,
    };
  },

  DeletePublicAccessBlock(input: DeletePublicAccessBlockRequest, ctx): void {
    ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner).publicAccessBlock = undefined;
  },

  GetBucketLifecycleConfiguration(input: GetBucketLifecycleConfigurationRequest, ctx): GetBucketLifecycleConfigurationOutput {
    const bucket = ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
    if (!bucket.lifecycleRules) {
      throw new ServiceError('NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist', { status: 404, fields: { BucketName: bucket.name } });
    }
    return { Rules: bucket.lifecycleRules as LifecycleRule[] };
  },

  PutBucketLifecycleConfiguration(input: PutBucketLifecycleConfigurationRequest, ctx): void {
    const bucket = ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
    const rules = input.LifecycleConfiguration?.Rules ?? [];
    if (rules.length === 0 || rules.length > MAX_LIFECYCLE_RULES) throw malformedXml();
    const ids = new Set<string>();
    for (const rule of rules) {
      if (rule.ID !== undefined) {
        if (ids.has(rule.ID)) throw invalidArgument('Rule ID must be unique. Found same ID for more than one rule');
        ids.add(rule.ID);
      }
      const days = [rule.Expiration?.Days, rule.NoncurrentVersionExpiration?.NoncurrentDays].filter((d) => d !== undefined);
      if (days.some((d) => d <= 0)) throw invalidArgument("'Days' for Expiration action must be a positive integer");
      if (!rule.Expiration && !rule.NoncurrentVersionExpiration && !rule.Transitions && !rule.NoncurrentVersionTransitions && !rule.AbortIncompleteMultipartUpload) {
        throw invalidArgument('At least one action needs to be specified in a rule');
      }
    }
    bucket.lifecycleRules = rules;
  },

  DeleteBucketLifecycle(input: DeleteBucketLifecycleRequest, ctx): void {
    ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner).lifecycleRules = undefined;
  },
} satisfies Record<string, Handler>;

function checkKmsKey(ctx: RequestContext, bucket: S3Bucket, keyId: string): void {
  try {
    resolveKmsKey(ctx.world, { accountId: bucket.ownerAccountId, region: bucket.region }, keyId);
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'NotFoundException') throw new ServiceError('KMS.NotFoundException', `Invalid keyId ${keyId}`, { status: 400 });
    throw error;
  }
}

/** An Allow to everyone without a condition is what S3 calls a public policy. */
function isPublicStatement(statement: unknown): boolean {
  const { Effect: effect, Principal: principal, Condition: condition } = (statement ?? {}) as { Effect?: string; Principal?: unknown; Condition?: unknown };
  const everyone = principal === '*' || (typeof principal === 'object' && principal !== null && [(principal as { AWS?: unknown }).AWS].flat().includes('*'));
  return effect === 'Allow' && everyone && condition === undefined;
}

function malformedXml(): ServiceError {
  return new ServiceError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', { status: 400 });
}
