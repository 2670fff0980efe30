/**
 * Where a process's AWS settings come from, in words and without a secret: the region and the
 * source of its credentials (which variable or profile, never a key). A worker announces it in
 * its BullMQ connection name, so a CLI that hands it a job can say whose AWS settings the job
 * runs on.
 */
export interface AwsSettings {
  region: string;
  credentials: string;
  endpoint?: string;
}

export function describeAwsSettings(env: NodeJS.ProcessEnv = process.env): AwsSettings {
  const region = env['AWS_REGION'] ? `${env['AWS_REGION']} (AWS_REGION)` : env['AWS_DEFAULT_REGION'] ? `${env['AWS_DEFAULT_REGION']} (AWS_DEFAULT_REGION)` : `from ${env['AWS_PROFILE'] ? `profile ${env['AWS_PROFILE']}` : 'the shared config file'}`;
  // The order of the SDK's default chain: environment keys, then a profile, then web identity and container roles.
  const credentials =
    env['AWS_ACCESS_KEY_ID'] ? 'environment variables (AWS_ACCESS_KEY_ID)'
    : env['AWS_PROFILE'] ? `profile ${env['AWS_PROFILE']} (AWS_PROFILE)`
    : env['AWS_WEB_IDENTITY_TOKEN_FILE'] ? `web identity (AWS_ROLE_ARN ${env['AWS_ROLE_ARN'] ?? 'unset'})`
    : env['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'] || env['AWS_CONTAINER_CREDENTIALS_FULL_URI'] ? 'the container role'
    : 'the default chain (shared files, then the instance role)';
  const endpoint = env['AWS_ENDPOINT_URL'];
  return { region, credentials, ...(endpoint ? { endpoint: redactEndpoint(endpoint) } : {}) };
}

/** One line: `region eu-west-1 (AWS_REGION), credentials from profile prod (AWS_PROFILE)`. */
export function formatAwsSettings(settings: AwsSettings): string {
  return `region ${settings.region}, credentials from ${settings.credentials}${settings.endpoint ? `, endpoint ${settings.endpoint}` : ''}`;
}

/** A Redis client name may hold no space: the settings travel as base64url JSON. */
export function encodeAwsSettings(settings: AwsSettings): string {
  return Buffer.from(JSON.stringify(settings)).toString('base64url');
}

/** The settings a worker's connection name carries (`...:w:<encoded>`), if it carries any. */
export function decodeAwsSettings(connectionName: string): AwsSettings | undefined {
  const encoded = connectionName.split(':w:')[1];
  if (!encoded) return undefined;
  try {
    const value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as Partial<AwsSettings>;
    if (typeof value.region !== 'string' || typeof value.credentials !== 'string') return undefined;
    return { region: value.region, credentials: value.credentials, ...(typeof value.endpoint === 'string' ? { endpoint: value.endpoint } : {}) };
  } catch {
    return undefined;
  }
}

function redactEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.origin;
  } catch {
    return 'unparseable';
  }
}
