import { describe, expect, it } from 'vitest';
import { decodeAwsSettings, describeAwsSettings, encodeAwsSettings, formatAwsSettings } from './aws-settings.js';

describe('AWS settings as a worker announces them', () => {
  it('names the region and the credential source, never a secret, and survives a Redis client name', () => {
    const env = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'PLANTEDsecret', AWS_SESSION_TOKEN: 'PLANTEDtoken', AWS_ENDPOINT_URL: 'http://user:PLANTEDpass@127.0.0.1:4566/x' };
    const settings = describeAwsSettings(env);
    expect(formatAwsSettings(settings)).toBe('region eu-west-1 (AWS_REGION), credentials from environment variables (AWS_ACCESS_KEY_ID), endpoint http://127.0.0.1:4566');
    const encoded = encodeAwsSettings(settings);
    expect(encoded).toMatch(/^[\w-]+$/);
    expect(JSON.stringify(settings) + encoded).not.toMatch(/PLANTED|AKIAEXAMPLE/);
    expect(decodeAwsSettings(`orgshield:b3Jn:w:${encoded}`)).toEqual(settings);
    expect(decodeAwsSettings('orgshield:b3Jn:w:not-json')).toBeUndefined();
    expect(decodeAwsSettings('orgshield:b3Jn')).toBeUndefined();
  });

  it('follows the default chain: profile, web identity, container role, then shared files', () => {
    expect(formatAwsSettings(describeAwsSettings({ AWS_PROFILE: 'prod' }))).toBe('region from profile prod, credentials from profile prod (AWS_PROFILE)');
    expect(describeAwsSettings({ AWS_DEFAULT_REGION: 'us-west-2', AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/token', AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/worker' })).toEqual({
      region: 'us-west-2 (AWS_DEFAULT_REGION)',
      credentials: 'web identity (AWS_ROLE_ARN arn:aws:iam::111122223333:role/worker)',
    });
    expect(describeAwsSettings({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/x' }).credentials).toBe('the container role');
    expect(describeAwsSettings({}).credentials).toBe('the default chain (shared files, then the instance role)');
  });
});
