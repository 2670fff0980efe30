import type {
  CreateSecretRequest,
  CreateSecretResponse,
  DescribeSecretRequest,
  DescribeSecretResponse,
  GetSecretValueRequest,
  GetSecretValueResponse,
  PutSecretValueRequest,
  PutSecretValueResponse,
  RotateSecretRequest,
  RotateSecretResponse,
  Tag,
  TagResourceRequest,
} from '@aws-sdk/client-secrets-manager';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { defineRegionState, type World } from '../world/world.js';
import { resolveKmsKey } from './kms.js';

interface SecretVersion {
  versionId: string;
  secretString?: string;
  secretBinary?: Buffer;
  stages: Set<string>;
  createdDate: Date;
  /** What the request that made it carried; a retry with the same token must carry the same. */
  fingerprint: string;
}

export interface Secret {
  name: string;
  arn: string;
  description?: string;
  /** As given; undefined means the AWS managed key aws/secretsmanager. */
  kmsKeyId?: string;
  tags: Tag[];
  createdDate: Date;
  lastChangedDate: Date;
  lastRotatedDate?: Date;
  rotationEnabled: boolean;
  rotationRules?: RotateSecretRequest['RotationRules'];
  versions: Map<string, SecretVersion>;
}

const secretsOf = defineRegionState('secretsmanager:secrets', () => new Map<string, Secret>());
/** Secrets Manager keeps at most about 100 versions; older ones without a stage are dropped. */
const MAX_VERSIONS = 100;

/**
 * Creates (or returns) a secret as its owner would, for scenarios that plant one (the
 * recordings' pseudonym key). Deterministic: the ARN suffix and version id come from the name.
 */
export function plantSecret(world: World, scope: { accountId: string; region: string }, secret: { name: string; secretString: string; description?: string; createdDate: Date }): Secret {
  const all = world.account(scope.accountId).region(scope.region).state(secretsOf);
  const existing = all.get(secret.name);
  if (existing) return existing;
  const seed = createHash('sha256').update(`${scope.accountId}/${scope.region}/${secret.name}`).digest('hex');
  const versionId = `${seed.slice(0, 8)}-${seed.slice(8, 12)}-4${seed.slice(13, 16)}-a${seed.slice(17, 20)}-${seed.slice(20, 32)}`;
  const planted: Secret = {
    name: secret.name,
    arn: secretArn(scope, secret.name, seed),
    description: secret.description,
    tags: [],
    createdDate: secret.createdDate,
    lastChangedDate: secret.createdDate,
    rotationEnabled: false,
    versions: new Map([[versionId, { versionId, secretString: secret.secretString, stages: new Set(['AWSCURRENT']), createdDate: secret.createdDate, fingerprint: '' }]]),
  };
  all.set(secret.name, planted);
  return planted;
}

function secretArn(scope: { accountId: string; region: string }, name: string, suffixSource: string): string {
  // Secrets Manager appends a hyphen and six random characters to the name.
  const suffix = Buffer.from(suffixSource, 'hex').toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 6).padEnd(6, 'x');
  return `arn:aws:secretsmanager:${scope.region}:${scope.accountId}:secret:${name}-${suffix}`;
}

/** By name, full ARN, or the ARN without its six-character suffix, as SecretId accepts. */
function secretOf(ctx: RequestContext, id: string | undefined): Secret {
  const all = ctx.state(secretsOf);
  const key = id ?? '';
  const found = all.get(key) ?? [...all.values()].find((s) => s.arn === key || s.arn.slice(0, -7) === key);
  if (!found) throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  return found;
}

function fingerprint(input: { SecretString?: string; SecretBinary?: Uint8Array }): string {
  return createHash('sha256').update(input.SecretString ?? '').update('\0').update(input.SecretBinary ?? new Uint8Array()).digest('hex');
}

function currentVersion(secret: Secret): SecretVersion | undefined {
  return [...secret.versions.values()].find((v) => v.stages.has('AWSCURRENT'));
}

/**
 * Adds a version as PutSecretValue does: idempotent per ClientRequestToken (the same token
 * with the same value is a no-op, with another value ResourceExistsException); the new
 * version takes AWSCURRENT (unless stages are given) and the old one AWSPREVIOUS.
 */
function addVersion(secret: Secret, input: { ClientRequestToken?: string; SecretString?: string; SecretBinary?: Uint8Array; VersionStages?: string[] }, now: Date): SecretVersion {
  if ((input.SecretString === undefined) === (input.SecretBinary === undefined)) {
    throw new ServiceError('InvalidParameterException', 'You must provide either SecretString or SecretBinary, but not both.');
  }
  const versionId = input.ClientRequestToken ?? randomUUID();
  const print = fingerprint(input);
  const existing = secret.versions.get(versionId);
  if (existing) {
    if (existing.fingerprint !== print) throw new ServiceError('ResourceExistsException', `A resource with the ID you requested already exists.`);
    return existing;
  }
  const stages = new Set(input.VersionStages ?? ['AWSCURRENT']);
  if (stages.has('AWSCURRENT')) {
    for (const v of secret.versions.values()) v.stages.delete('AWSPREVIOUS');
    const current = currentVersion(secret);
    if (current) {
      current.stages.delete('AWSCURRENT');
      current.stages.add('AWSPREVIOUS');
    }
  } else {
    for (const v of secret.versions.values()) for (const stage of stages) v.stages.delete(stage);
  }
  const version: SecretVersion = {
    versionId,
    ...(input.SecretString === undefined ? {} : { secretString: input.SecretString }),
    ...(input.SecretBinary === undefined ? {} : { secretBinary: Buffer.from(input.SecretBinary) }),
    stages,
    createdDate: now,
    fingerprint: print,
  };
  secret.versions.set(versionId, version);
  for (const [id, v] of secret.versions) if (secret.versions.size > MAX_VERSIONS && v.stages.size === 0) secret.versions.delete(id);
  secret.lastChangedDate = now;
  return version;
}

/**
 * Secrets Manager: secrets with versions and staging labels (AWSCURRENT, AWSPREVIOUS),
 * idempotent ClientRequestToken, KMS key checks, tags, and a rotation without a Lambda: the
 * sandbox rotates a secret it manages by storing a new random 32-byte value (base64) as
 * AWSCURRENT, standing in for the rotation function. Not modelled: resource policies,
 * replication, deletion and its recovery window.
 */
export const secretsManager = defineService({
  signingName: 'secretsmanager',
  handlers: {
    CreateSecret(input: CreateSecretRequest, ctx): CreateSecretResponse {
      const all = ctx.state(secretsOf);
      const name = input.Name ?? '';
      if (input.KmsKeyId !== undefined) {
        try {
          resolveKmsKey(ctx.world, ctx, input.KmsKeyId);
        } catch (error) {
          if (error instanceof ServiceError) throw new ServiceError('InvalidRequestException', `Secrets Manager can't find the KMS key ${input.KmsKeyId}.`);
          throw error;
        }
      }
      const existing = all.get(name);
      if (existing) {
        // A retry of the same request (same token, same value) succeeds, as the SDK's retries need.
        const version = input.ClientRequestToken === undefined ? undefined : existing.versions.get(input.ClientRequestToken);
        if (version && version.fingerprint === fingerprint(input)) return { ARN: existing.arn, Name: existing.name, VersionId: version.versionId };
        throw new ServiceError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
      }
      const now = ctx.world.clock.now();
      const secret: Secret = {
        name,
        arn: secretArn(ctx, name, randomBytes(8).toString('hex')),
        ...(input.Description === undefined ? {} : { description: input.Description }),
        ...(input.KmsKeyId === undefined ? {} : { kmsKeyId: input.KmsKeyId }),
        tags: input.Tags ?? [],
        createdDate: now,
        lastChangedDate: now,
        rotationEnabled: false,
        versions: new Map(),
      };
      let versionId: string | undefined;
      if (input.SecretString !== undefined || input.SecretBinary !== undefined) versionId = addVersion(secret, input, now).versionId;
      all.set(name, secret);
      return { ARN: secret.arn, Name: name, VersionId: versionId };
    },

    GetSecretValue(input: GetSecretValueRequest, ctx): GetSecretValueResponse {
      const secret = secretOf(ctx, input.SecretId);
      const stage = input.VersionStage ?? (input.VersionId === undefined ? 'AWSCURRENT' : undefined);
      const version = input.VersionId !== undefined ? secret.versions.get(input.VersionId) : [...secret.versions.values()].find((v) => stage !== undefined && v.stages.has(stage));
      if (!version || (stage !== undefined && !version.stages.has(stage))) {
        throw new ServiceError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for ${input.VersionId !== undefined ? `VersionId: ${input.VersionId}` : `staging label: ${stage}`}`);
      }
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        SecretString: version.secretString,
        SecretBinary: version.secretBinary,
        VersionStages: [...version.stages],
        CreatedDate: version.createdDate,
      };
    },

    DescribeSecret(input: DescribeSecretRequest, ctx): DescribeSecretResponse {
      const secret = secretOf(ctx, input.SecretId);
      return {
        ARN: secret.arn,
        Name: secret.name,
        Description: secret.description,
        KmsKeyId: secret.kmsKeyId,
        RotationEnabled: secret.rotationEnabled,
        RotationRules: secret.rotationRules,
        LastRotatedDate: secret.lastRotatedDate,
        LastChangedDate: secret.lastChangedDate,
        Tags: secret.tags.length > 0 ? secret.tags : undefined,
        VersionIdsToStages: Object.fromEntries([...secret.versions.values()].filter((v) => v.stages.size > 0).map((v) => [v.versionId, [...v.stages]])),
        CreatedDate: secret.createdDate,
      };
    },

    PutSecretValue(input: PutSecretValueRequest, ctx): PutSecretValueResponse {
      const secret = secretOf(ctx, input.SecretId);
      const version = addVersion(secret, input, ctx.world.clock.now());
      return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
    },

    RotateSecret(input: RotateSecretRequest, ctx): RotateSecretResponse {
      const secret = secretOf(ctx, input.SecretId);
      if (input.RotationRules) {
        secret.rotationRules = input.RotationRules;
        secret.rotationEnabled = true;
      }
      if (!secret.rotationEnabled) {
        throw new ServiceError('InvalidRequestException', 'No Lambda rotation function ARN is associated with this secret.');
      }
      let versionId: string | undefined;
      if (input.RotateImmediately ?? true) {
        const now = ctx.world.clock.now();
        versionId = addVersion(secret, { ClientRequestToken: input.ClientRequestToken, SecretString: randomBytes(32).toString('base64') }, now).versionId;
        secret.lastRotatedDate = now;
      }
      return { ARN: secret.arn, Name: secret.name, VersionId: versionId };
    },

    TagResource(input: TagResourceRequest, ctx): void {
      const secret = secretOf(ctx, input.SecretId);
      for (const tag of input.Tags ?? []) secret.tags = [...secret.tags.filter((t) => t.Key !== tag.Key), tag];
    },
  },
});
