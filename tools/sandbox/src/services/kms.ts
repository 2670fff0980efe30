import type {
  CreateAliasRequest,
  CreateKeyRequest,
  CreateKeyResponse,
  DecryptRequest,
  DescribeKeyRequest,
  DescribeKeyResponse,
  EnableKeyRotationRequest,
  EncryptRequest,
  GenerateDataKeyRequest,
  GetKeyPolicyRequest,
  GetKeyPolicyResponse,
  GetKeyRotationStatusRequest,
  GetKeyRotationStatusResponse,
  KeyMetadata,
  ListAliasesRequest,
  ListAliasesResponse,
  ListResourceTagsRequest,
  ListResourceTagsResponse,
  PutKeyPolicyRequest,
  TagResourceRequest,
  Tag,
} from '@aws-sdk/client-kms';
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { defineRegionState, type World } from '../world/world.js';

/** A symmetric KMS key; its material never leaves the sandbox, as in KMS. */
export interface KmsKey {
  keyId: string;
  arn: string;
  accountId: string;
  region: string;
  creationDate: Date;
  description: string;
  enabled: boolean;
  /** Policies by name; KMS has only `default`. */
  policy: string;
  rotationEnabled: boolean;
  rotationPeriodInDays: number | undefined;
  tags: Tag[];
  /** Marks the keys KMS creates for services (aws/s3): KeyManager AWS. */
  awsManaged: boolean;
  material: Buffer;
}

interface KmsAlias {
  name: string;
  targetKeyId: string;
  creationDate: Date;
}

interface KmsRegion {
  keys: Map<string, KmsKey>;
  aliases: Map<string, KmsAlias>;
}

const kmsRegions = defineRegionState('kms:keys', (): KmsRegion => ({ keys: new Map(), aliases: new Map() }));

/** The AWS managed key a service uses when its caller names none (aws/s3 for SSE-KMS). */
const SERVICE_ALIASES = new Set(['aws/s3', 'aws/secretsmanager', 'aws/ssm']);
const CIPHERTEXT_VERSION = 1;

/**
 * Finds a key by id, key ARN, alias name (`alias/x`) or alias ARN in an account and region, as
 * every KMS operation's KeyId does. An `alias/aws/<service>` key is created on first use, as
 * AWS creates AWS managed keys. Throws NotFoundException.
 */
export function resolveKmsKey(world: World, scope: { accountId: string; region: string }, keyId: string): KmsKey {
  const region = world.account(scope.accountId).region(scope.region).state(kmsRegions);
  const aliasArn = /^arn:aws:kms:([^:]+):(\d{12}):(alias\/.+)$/.exec(keyId);
  const keyArn = /^arn:aws:kms:([^:]+):(\d{12}):key\/(.+)$/.exec(keyId);
  let id = keyId;
  if (aliasArn || keyId.startsWith('alias/')) {
    if (aliasArn && (aliasArn[1] !== scope.region || aliasArn[2] !== scope.accountId)) throw notFound(keyId);
    const name = aliasArn ? (aliasArn[3] ?? '') : keyId;
    const alias = region.aliases.get(name) ?? (SERVICE_ALIASES.has(name.slice('alias/'.length)) ? createManagedKey(world, region, scope, name) : undefined);
    if (!alias) throw new ServiceError('NotFoundException', `Alias ${aliasArnOf(scope, name)} is not found.`);
    id = alias.targetKeyId;
  } else if (keyArn) {
    if (keyArn[1] !== scope.region || keyArn[2] !== scope.accountId) throw notFound(keyId);
    id = keyArn[3] ?? '';
  }
  const key = region.keys.get(id);
  if (!key) throw notFound(keyId);
  return key;
}

/** Creates a customer managed key and its alias as CreateKey and CreateAlias would, for scenarios. */
export function createKmsKeyWithAlias(world: World, scope: { accountId: string; region: string }, request: { alias: string; description: string; created: Date }): KmsKey {
  const region = world.account(scope.accountId).region(scope.region).state(kmsRegions);
  // A scenario's key has the same id for the same seed, as the rest of the seeded world.
  const digest = createHash('sha256').update(`${world.seed}/${scope.accountId}/${scope.region}/${request.alias}`).digest('hex');
  const keyId = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-4${digest.slice(13, 16)}-a${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
  const key = { ...newKey(world, scope, { description: request.description, awsManaged: false }), keyId, arn: `arn:aws:kms:${scope.region}:${scope.accountId}:key/${keyId}`, creationDate: request.created };
  region.keys.set(key.keyId, key);
  region.aliases.set(request.alias, { name: request.alias, targetKeyId: key.keyId, creationDate: request.created });
  return key;
}

function createManagedKey(world: World, region: KmsRegion, scope: { accountId: string; region: string }, aliasName: string): KmsAlias {
  const key = newKey(world, scope, { description: `Default key that protects my ${aliasName.split('/')[2] ?? ''} data when no other key is defined`, awsManaged: true });
  region.keys.set(key.keyId, key);
  const alias = { name: aliasName, targetKeyId: key.keyId, creationDate: key.creationDate };
  region.aliases.set(aliasName, alias);
  return alias;
}

function newKey(world: World, scope: { accountId: string; region: string }, options: { description: string; awsManaged: boolean; policy?: string; tags?: Tag[] }): KmsKey {
  const keyId = randomUUID();
  return {
    keyId,
    arn: `arn:aws:kms:${scope.region}:${scope.accountId}:key/${keyId}`,
    accountId: scope.accountId,
    region: scope.region,
    creationDate: world.clock.now(),
    description: options.description,
    enabled: true,
    policy: options.policy ?? defaultKeyPolicy(scope.accountId),
    rotationEnabled: options.awsManaged,
    rotationPeriodInDays: options.awsManaged ? 365 : undefined,
    tags: options.tags ?? [],
    awsManaged: options.awsManaged,
    material: randomBytes(32),
  };
}

/** The policy KMS gives a key created without one: the account's IAM policies decide. */
function defaultKeyPolicy(accountId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: 'kms:*', Resource: '*' }],
  });
}

/** Encrypts under the key with AES-256-GCM; the blob names the key so Decrypt needs no KeyId. */
export function kmsEncrypt(key: KmsKey, plaintext: Buffer, context: Record<string, string> = {}): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.material, iv);
  cipher.setAAD(contextBytes(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const keyArn = Buffer.from(key.arn);
  return Buffer.concat([Buffer.from([CIPHERTEXT_VERSION, keyArn.length]), keyArn, iv, cipher.getAuthTag(), body]);
}

/** Decrypts what kmsEncrypt sealed, for services that keep KMS-encrypted values (SSM SecureString). */
export function kmsDecrypt(world: World, scope: { accountId: string; region: string }, blob: Buffer, context: Record<string, string> = {}): Buffer {
  return openCiphertext(world, scope, blob, context).plaintext;
}

function openCiphertext(world: World, scope: { accountId: string; region: string }, blob: Buffer, context: Record<string, string>): { key: KmsKey; plaintext: Buffer } {
  const invalid = () => new ServiceError('InvalidCiphertextException', 'The ciphertext is invalid or was not produced by KMS.');
  if (blob[0] !== CIPHERTEXT_VERSION || blob.length < 2) throw invalid();
  const arnLength = blob[1] ?? 0;
  let key: KmsKey;
  try {
    key = resolveKmsKey(world, scope, blob.subarray(2, 2 + arnLength).toString());
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'NotFoundException') throw invalid();
    throw error;
  }
  if (!key.enabled) throw new ServiceError('DisabledException', `${key.arn} is disabled.`);
  const rest = blob.subarray(2 + arnLength);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.material, rest.subarray(0, 12));
    decipher.setAAD(contextBytes(context));
    decipher.setAuthTag(rest.subarray(12, 28));
    return { key, plaintext: Buffer.concat([decipher.update(rest.subarray(28)), decipher.final()]) };
  } catch {
    throw invalid();
  }
}

function contextBytes(context: Record<string, string>): Buffer {
  return Buffer.from(JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1))));
}

function usableKey(ctx: RequestContext, keyId: string | undefined): KmsKey {
  const key = resolveKmsKey(ctx.world, ctx, keyId ?? '');
  if (!key.enabled) throw new ServiceError('DisabledException', `${key.arn} is disabled.`);
  return key;
}

function metadata(key: KmsKey): KeyMetadata {
  return {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: key.creationDate,
    Enabled: key.enabled,
    Description: key.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: key.enabled ? 'Enabled' : 'Disabled',
    Origin: 'AWS_KMS',
    KeyManager: key.awsManaged ? 'AWS' : 'CUSTOMER',
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
  };
}

function checkPolicy(policy: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch {
    throw new ServiceError('MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.');
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { Statement?: unknown }).Statement)) {
    throw new ServiceError('MalformedPolicyDocumentException', 'The key policy must be a JSON object with a Statement list.');
  }
}

/**
 * KMS: symmetric customer managed keys, AWS managed keys for services (created on first use of
 * `alias/aws/<service>`), aliases, key policies, rotation status, tags, and real encryption
 * (AES-256-GCM with the encryption context as associated data) for Encrypt, Decrypt and
 * GenerateDataKey. Not modelled: asymmetric and HMAC keys, grants, deletion, multi-Region keys,
 * and policy evaluation (a key policy is stored and returned; every caller of the account may use the key).
 */
export const kms = defineService({
  signingName: 'kms',
  handlers: {
    CreateKey(input: CreateKeyRequest, ctx): CreateKeyResponse {
      if (input.KeySpec !== undefined && input.KeySpec !== 'SYMMETRIC_DEFAULT') {
        throw new ServiceError('UnsupportedOperationException', `The sandbox's KMS creates SYMMETRIC_DEFAULT keys only, not ${input.KeySpec}.`);
      }
      if (input.Policy !== undefined) checkPolicy(input.Policy);
      const key = newKey(ctx.world, ctx, { description: input.Description ?? '', awsManaged: false, policy: input.Policy, tags: input.Tags });
      ctx.state(kmsRegions).keys.set(key.keyId, key);
      return { KeyMetadata: metadata(key) };
    },

    DescribeKey(input: DescribeKeyRequest, ctx): DescribeKeyResponse {
      return { KeyMetadata: metadata(resolveKmsKey(ctx.world, ctx, input.KeyId ?? '')) };
    },

    CreateAlias(input: CreateAliasRequest, ctx): void {
      const name = input.AliasName ?? '';
      if (!name.startsWith('alias/') || name.startsWith('alias/aws/')) {
        throw new ServiceError('InvalidAliasNameException', `Alias must start with the prefix "alias/" and cannot begin with "alias/aws/": ${name}`);
      }
      const region = ctx.state(kmsRegions);
      if (region.aliases.has(name)) throw new ServiceError('AlreadyExistsException', `An alias with the name ${aliasArnOf(ctx, name)} already exists`);
      const key = resolveKmsKey(ctx.world, ctx, input.TargetKeyId ?? '');
      if (key.awsManaged) throw new ServiceError('NotFoundException', `${key.arn} is an AWS managed key; an alias cannot point to it.`);
      region.aliases.set(name, { name, targetKeyId: key.keyId, creationDate: ctx.world.clock.now() });
    },

    ListAliases(input: ListAliasesRequest, ctx): ListAliasesResponse {
      const region = ctx.state(kmsRegions);
      const target = input.KeyId === undefined ? undefined : resolveKmsKey(ctx.world, ctx, input.KeyId).keyId;
      const all = [...region.aliases.values()].filter((a) => target === undefined || a.targetKeyId === target).sort((a, b) => (a.name < b.name ? -1 : 1));
      let start = 0;
      if (input.Marker !== undefined) {
        const after = ctx.world.pageTokens.decode(`kms:ListAliases:${ctx.accountId}`, input.Marker);
        if (after === undefined) throw new ServiceError('InvalidMarkerException', 'Invalid marker');
        start = all.findIndex((a) => a.name > after);
        if (start < 0) start = all.length;
      }
      const limit = input.Limit ?? 50;
      const page = all.slice(start, start + limit);
      const truncated = start + limit < all.length;
      return {
        Aliases: page.map((a) => ({ AliasName: a.name, AliasArn: aliasArnOf(ctx, a.name), TargetKeyId: a.targetKeyId, CreationDate: a.creationDate, LastUpdatedDate: a.creationDate })),
        Truncated: truncated,
        NextMarker: truncated ? ctx.world.pageTokens.encode(`kms:ListAliases:${ctx.accountId}`, page.at(-1)?.name ?? '') : undefined,
      };
    },

    GetKeyPolicy(input: GetKeyPolicyRequest, ctx): GetKeyPolicyResponse {
      const key = resolveKmsKey(ctx.world, ctx, input.KeyId ?? '');
      if ((input.PolicyName ?? 'default') !== 'default') throw new ServiceError('NotFoundException', `No such policy exists: ${input.PolicyName}`);
      return { Policy: key.policy, PolicyName: 'default' };
    },

    PutKeyPolicy(input: PutKeyPolicyRequest, ctx): void {
      const key = resolveKmsKey(ctx.world, ctx, input.KeyId ?? '');
      if (key.awsManaged) throw new ServiceError('UnsupportedOperationException', `The policy of ${key.arn}, an AWS managed key, cannot be changed.`);
      if ((input.PolicyName ?? 'default') !== 'default') throw new ServiceError('NotFoundException', `No such policy exists: ${input.PolicyName}`);
      checkPolicy(input.Policy ?? '');
      key.policy = input.Policy ?? '';
    },

    EnableKeyRotation(input: EnableKeyRotationRequest, ctx): void {
      const key = usableKey(ctx, input.KeyId);
      key.rotationEnabled = true;
      key.rotationPeriodInDays = input.RotationPeriodInDays ?? 365;
    },

    GetKeyRotationStatus(input: GetKeyRotationStatusRequest, ctx): GetKeyRotationStatusResponse {
      const key = resolveKmsKey(ctx.world, ctx, input.KeyId ?? '');
      return { KeyId: key.arn, KeyRotationEnabled: key.rotationEnabled, RotationPeriodInDays: key.rotationPeriodInDays };
    },

    TagResource(input: TagResourceRequest, ctx): void {
      const key = resolveKmsKey(ctx.world, ctx, input.KeyId ?? '');
      for (const tag of input.Tags ?? []) {
        key.tags = [...key.tags.filter((t) => t.TagKey !== tag.TagKey), tag];
      }
    },

    ListResourceTags(input: ListResourceTagsRequest, ctx): ListResourceTagsResponse {
      return { Tags: resolveKmsKey(ctx.world, ctx, input.KeyId ?? '').tags, Truncated: false };
    },

    Encrypt(input: EncryptRequest, ctx) {
      const key = usableKey(ctx, input.KeyId);
      const plaintext = Buffer.from(input.Plaintext ?? new Uint8Array());
      return { CiphertextBlob: kmsEncrypt(key, plaintext, input.EncryptionContext), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },

    GenerateDataKey(input: GenerateDataKeyRequest, ctx) {
      const key = usableKey(ctx, input.KeyId);
      if ((input.KeySpec === undefined) === (input.NumberOfBytes === undefined)) {
        throw new ServiceError('ValidationException', 'Please specify either number of bytes or key spec.', { status: 400 });
      }
      const plaintext = randomBytes(input.NumberOfBytes ?? (input.KeySpec === 'AES_128' ? 16 : 32));
      return { Plaintext: plaintext, CiphertextBlob: kmsEncrypt(key, plaintext, input.EncryptionContext), KeyId: key.arn };
    },

    Decrypt(input: DecryptRequest, ctx) {
      const { key, plaintext } = openCiphertext(ctx.world, ctx, Buffer.from(input.CiphertextBlob ?? new Uint8Array()), input.EncryptionContext ?? {});
      if (input.KeyId !== undefined && resolveKmsKey(ctx.world, ctx, input.KeyId).keyId !== key.keyId) {
        throw new ServiceError('IncorrectKeyException', 'The key ID in the request does not identify the key that encrypted the ciphertext.');
      }
      return { Plaintext: plaintext, KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
  },
});

function aliasArnOf(scope: { accountId: string; region: string }, name: string): string {
  return `arn:aws:kms:${scope.region}:${scope.accountId}:${name}`;
}

function notFound(keyId: string): ServiceError {
  return new ServiceError('NotFoundException', `Key '${keyId}' does not exist`);
}
