import { CreateRoleCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient, ListRoleTagsCommand, PutRolePolicyCommand, TagRoleCommand } from '@aws-sdk/client-iam';
import { CreateAliasCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, GetKeyPolicyCommand, KMSClient, ListAliasesCommand, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AddTagsToResourceCommand, DescribeParametersCommand, GetParameterCommand, GetParametersCommand, ListTagsForResourceCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../sandbox-server.js';

const running: RunningSandbox[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function start() {
  const sandbox = await startSandbox({ port: 0, accounts: 6, ous: 1, seed: 5 });
  running.push(sandbox);
  return { sandbox, config: { ...sandbox.clientConfig(), maxAttempts: 1 } };
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).name;
  }
  throw new Error('expected the call to fail');
}

const appstreamTrust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'appstream.amazonaws.com' }, Action: 'sts:AssumeRole' }] });

describe('IAM', () => {
  it('creates a role once with its trust policy, inline policy and tags', async () => {
    const { config } = await start();
    const iam = new IAMClient(config);
    const created = await iam.send(new CreateRoleCommand({ RoleName: 'RecordingFleetRole', AssumeRolePolicyDocument: appstreamTrust, Tags: [{ Key: 'orgshield', Value: 'recording' }] }));
    expect(created.Role?.Arn).toMatch(/^arn:aws:iam::\d{12}:role\/RecordingFleetRole$/);
    expect(await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'recordingfleetrole', AssumeRolePolicyDocument: appstreamTrust })))).toBe('EntityAlreadyExistsException');
    expect(await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'Bad', AssumeRolePolicyDocument: '{"Statement":[{"Effect":"Allow"}]}' })))).toBe('MalformedPolicyDocumentException');

    const got = await iam.send(new GetRoleCommand({ RoleName: 'RecordingFleetRole' }));
    // IAM returns policy documents URL-encoded.
    expect(JSON.parse(decodeURIComponent(got.Role?.AssumeRolePolicyDocument ?? ''))).toEqual(JSON.parse(appstreamTrust));
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::rec/recordings/*' }] });
    await iam.send(new PutRolePolicyCommand({ RoleName: 'RecordingFleetRole', PolicyName: 'recording', PolicyDocument: policy }));
    const read = await iam.send(new GetRolePolicyCommand({ RoleName: 'RecordingFleetRole', PolicyName: 'recording' }));
    expect(decodeURIComponent(read.PolicyDocument ?? '')).toBe(policy);
    expect(await errorOf(iam.send(new GetRolePolicyCommand({ RoleName: 'RecordingFleetRole', PolicyName: 'other' })))).toBe('NoSuchEntityException');
    await iam.send(new TagRoleCommand({ RoleName: 'RecordingFleetRole', Tags: [{ Key: 'orgshield', Value: 'v2' }, { Key: 'team', Value: 'sec' }] }));
    expect((await iam.send(new ListRoleTagsCommand({ RoleName: 'RecordingFleetRole' }))).Tags).toEqual([{ Key: 'orgshield', Value: 'v2' }, { Key: 'team', Value: 'sec' }]);
    expect(await errorOf(iam.send(new GetRoleCommand({ RoleName: 'Missing' })))).toBe('NoSuchEntityException');
  });

  it('lets STS assume a role created with an account principal, and only from that account', async () => {
    const { sandbox, config } = await start();
    const management = sandbox.world.org.managementAccountId;
    const iam = new IAMClient(config);
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${management}:root` }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'ext-1' } } }] });
    const role = (await iam.send(new CreateRoleCommand({ RoleName: 'Auditor', AssumeRolePolicyDocument: trust }))).Role;
    const sts = new STSClient(config);
    expect(await errorOf(sts.send(new AssumeRoleCommand({ RoleArn: role?.Arn, RoleSessionName: 'audit' })))).toBe('AccessDenied');
    const session = await sts.send(new AssumeRoleCommand({ RoleArn: role?.Arn, RoleSessionName: 'audit', ExternalId: 'ext-1' }));
    expect(session.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${management}:assumed-role/Auditor/audit`);
  });
});

describe('KMS', () => {
  it('creates keys and aliases, keeps the key policy, and encrypts for real', async () => {
    const { config } = await start();
    const kms = new KMSClient(config);
    const key = (await kms.send(new CreateKeyCommand({ Description: 'recordings' }))).KeyMetadata;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/orgshield-recordings', TargetKeyId: key?.KeyId }));
    expect(await errorOf(kms.send(new CreateAliasCommand({ AliasName: 'alias/orgshield-recordings', TargetKeyId: key?.KeyId })))).toBe('AlreadyExistsException');
    expect(await errorOf(kms.send(new CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: key?.KeyId })))).toBe('InvalidAliasNameException');
    expect((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/orgshield-recordings' }))).KeyMetadata?.Arn).toBe(key?.Arn);
    expect((await kms.send(new ListAliasesCommand({ KeyId: key?.KeyId }))).Aliases?.map((a) => a.AliasName)).toEqual(['alias/orgshield-recordings']);
    expect(await errorOf(kms.send(new DescribeKeyCommand({ KeyId: 'alias/missing' })))).toBe('NotFoundException');

    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:Decrypt', Resource: '*' }] });
    await kms.send(new PutKeyPolicyCommand({ KeyId: key?.Arn, Policy: policy }));
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: key?.KeyId }))).Policy).toBe(policy);
    expect(await errorOf(kms.send(new PutKeyPolicyCommand({ KeyId: key?.Arn, Policy: '{' })))).toBe('MalformedPolicyDocumentException');

    const context = { bucket: 'rec' };
    const sealed = await kms.send(new EncryptCommand({ KeyId: 'alias/orgshield-recordings', Plaintext: Buffer.from('pseudonym key'), EncryptionContext: context }));
    expect(Buffer.from(sealed.CiphertextBlob ?? []).toString()).not.toContain('pseudonym key');
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(opened.Plaintext ?? []).toString()).toBe('pseudonym key');
    expect(await errorOf(kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { bucket: 'other' } })))).toBe('InvalidCiphertextException');
    const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: key?.KeyId, KeySpec: 'AES_256' }));
    expect(dataKey.Plaintext?.length).toBe(32);
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob }))).Plaintext ?? [])).toEqual(Buffer.from(dataKey.Plaintext ?? []));
  });
});

describe('Secrets Manager', () => {
  it('keeps versions with AWSCURRENT/AWSPREVIOUS, is idempotent per token, and rotates', async () => {
    const { config } = await start();
    const sm = new SecretsManagerClient(config);
    const token = '11111111-2222-4333-8444-555555555555';
    const created = await sm.send(new CreateSecretCommand({ Name: 'orgshield/recording/pseudonym-key', SecretString: 'k1', ClientRequestToken: token }));
    expect(created.ARN).toMatch(/:secret:orgshield\/recording\/pseudonym-key-[A-Za-z0-9]{6}$/);
    // The SDK retrying CreateSecret with the same token and value gets the same answer.
    expect((await sm.send(new CreateSecretCommand({ Name: 'orgshield/recording/pseudonym-key', SecretString: 'k1', ClientRequestToken: token }))).VersionId).toBe(token);
    expect(await errorOf(sm.send(new CreateSecretCommand({ Name: 'orgshield/recording/pseudonym-key', SecretString: 'other' })))).toBe('ResourceExistsException');
    expect(await errorOf(sm.send(new CreateSecretCommand({ Name: 'with-bad-key', SecretString: 'x', KmsKeyId: 'alias/none' })))).toBe('InvalidRequestException');

    const second = await sm.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: 'k2' }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'orgshield/recording/pseudonym-key' }))).SecretString).toBe('k2');
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'orgshield/recording/pseudonym-key', VersionStage: 'AWSPREVIOUS' }))).SecretString).toBe('k1');
    const described = await sm.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect(described.VersionIdsToStages).toEqual({ [token]: ['AWSPREVIOUS'], [second.VersionId ?? '']: ['AWSCURRENT'] });

    expect(await errorOf(sm.send(new RotateSecretCommand({ SecretId: created.ARN })))).toBe('InvalidRequestException');
    const rotated = await sm.send(new RotateSecretCommand({ SecretId: created.ARN, RotationRules: { AutomaticallyAfterDays: 90 } }));
    const now = await sm.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(now.VersionId).toBe(rotated.VersionId);
    expect(Buffer.from(now.SecretString ?? '', 'base64').length).toBe(32);
    expect(await errorOf(sm.send(new GetSecretValueCommand({ SecretId: 'missing' })))).toBe('ResourceNotFoundException');
  });
});

describe('SSM Parameter Store', () => {
  it('keeps SecureString values encrypted under KMS, versioned, and readable by version', async () => {
    const { config } = await start();
    const ssm = new SSMClient(config);
    const kms = new KMSClient(config);
    const name = '/orgshield/session-recording/pseudonym-key';
    expect((await ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: 'key-1', Tags: [{ Key: 'orgshield', Value: 'recording' }] }))).Version).toBe(1);
    expect(await errorOf(ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: 'key-2' })))).toBe('ParameterAlreadyExists');
    expect(await errorOf(ssm.send(new PutParameterCommand({ Name: 'no/leading/slash', Type: 'String', Value: 'x' })))).toBe('ValidationException');
    expect(await errorOf(ssm.send(new PutParameterCommand({ Name: '/with-bad-key', Type: 'SecureString', Value: 'x', KeyId: 'alias/none' })))).toBe('InvalidKeyId');
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata;
    expect((await ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: 'key-2', Overwrite: true, KeyId: key?.Arn }))).Version).toBe(2);

    const sealed = (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter;
    expect(sealed?.Value).not.toContain('key-2');
    const opened = (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter;
    expect(opened).toMatchObject({ Value: 'key-2', Version: 2, Type: 'SecureString' });
    expect((await ssm.send(new GetParameterCommand({ Name: `${name}:1`, WithDecryption: true }))).Parameter?.Value).toBe('key-1');
    expect(await errorOf(ssm.send(new GetParameterCommand({ Name: `${name}:9` })))).toBe('ParameterVersionNotFound');
    expect(await errorOf(ssm.send(new GetParameterCommand({ Name: '/missing' })))).toBe('ParameterNotFound');
    const both = await ssm.send(new GetParametersCommand({ Names: [name, '/missing'], WithDecryption: true }));
    expect([both.Parameters?.map((p) => p.Value), both.InvalidParameters]).toEqual([['key-2'], ['/missing']]);
    const described = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Path', Values: ['/orgshield'] }] }));
    expect(described.Parameters?.map((p) => [p.Name, p.KeyId])).toEqual([[name, key?.Arn]]);
    await ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: name, Tags: [{ Key: 'team', Value: 'sec' }] }));
    expect((await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }))).TagList).toEqual([{ Key: 'orgshield', Value: 'recording' }, { Key: 'team', Value: 'sec' }]);
  });
});
