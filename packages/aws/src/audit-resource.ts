/**
 * The identifier a mutating call names, for the audit trail's "what": a policy, a role, a
 * bucket and key, an ARN. Only identifier fields are read, never the rest of the input, so no
 * payload (and no ExternalId, password or key) reaches the trail.
 */
const IDENTIFIER_FIELDS = [
  'PolicyId', 'ResourceArn', 'ResourceId', 'RoleArn', 'GraphArn', 'EntityArn', 'InstanceId', 'DetectorId', 'SnsTopicArn',
  'FleetName', 'StackName', 'SourceServerID', 'JobID', 'KeyId', 'SecretId', 'RoleName', 'UserName', 'Arn', 'Name',
] as const;

export function auditResource(input: unknown): string | undefined {
  if (!isRecord(input)) return undefined;
  // FMS PutPolicy names its policy inside Policy: the id for an update, the name for a new one.
  const policy = input['Policy'];
  if (isRecord(policy)) {
    const named = text(policy['PolicyId']) ?? text(policy['PolicyName']);
    if (named) return named;
  }
  const bucket = text(input['Bucket']);
  if (bucket) return `s3://${bucket}${text(input['Key']) ? `/${text(input['Key'])}` : ''}`;
  for (const field of IDENTIFIER_FIELDS) {
    const value = text(input[field]);
    if (value) return value;
  }
  return undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value.slice(0, 2048) : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
