import { AwsClientFactory } from '@orgshield/aws';
import { InvalidInputError } from '@orgshield/errors';
import { describe, expect, it } from 'vitest';
import { MemberCredentials, roleSessionName } from './member-credentials.js';

const clients = new AwsClientFactory({ region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } });

describe('roleSessionName', () => {
  it('carries the job id in the characters and length STS accepts', () => {
    expect(roleSessionName('org.sync:2026-01-01')).toBe('orgshield-org.sync-2026-01-01');
    expect(roleSessionName('rollout/abc def#1')).toBe('orgshield-rollout-abc-def-1');
    expect(roleSessionName('x'.repeat(100))).toHaveLength(64);
    expect(roleSessionName(undefined)).toBe('orgshield');
    expect(roleSessionName('a@b=c,d+e')).toMatch(/^[\w+=,.@-]{2,64}$/);
  });
});

describe('MemberCredentials', () => {
  const member = new MemberCredentials(clients, { managementAccountId: '111111111111' });

  it('reaches the management account with the caller\'s own credentials', () => {
    expect(member.provider('111111111111')).toBeUndefined();
    expect(member.target('111111111111', 'eu-west-1')).toEqual({ region: 'eu-west-1' });
  });

  it('hands out one provider per account and job, so each job has its own session name', () => {
    const first = member.provider('222222222222', 'job-1');
    expect(first).toBeTypeOf('function');
    expect(member.provider('222222222222', 'job-1')).toBe(first);
    expect(member.provider('222222222222', 'job-2')).not.toBe(first);
    expect(member.provider('333333333333', 'job-1')).not.toBe(first);
    expect(member.target('222222222222', 'eu-west-1', 'job-1')).toEqual({ accountId: '222222222222', region: 'eu-west-1', credentials: first });
  });

  it('keeps at most maxSessions sessions, retiring the least recently used', () => {
    const few = new MemberCredentials(clients, { managementAccountId: '111111111111', maxSessions: 2 });
    const one = few.provider('222222222222', 'job-1');
    const two = few.provider('222222222222', 'job-2');
    expect(few.provider('222222222222', 'job-1')).toBe(one); // job-1 is now the most recent
    few.provider('222222222222', 'job-3');
    expect(few.provider('222222222222', 'job-1')).toBe(one);
    expect(few.provider('222222222222', 'job-2')).not.toBe(two);
  });

  it('refuses bad input, naming it', () => {
    expect(() => member.provider('2222')).toThrow(InvalidInputError);
    expect(() => member.provider('2222')).toThrow(/"2222" is not an AWS account id/);
    expect(() => new MemberCredentials(clients, { managementAccountId: '111111111111', roleName: 'bad role' })).toThrow(/role name "bad role"/);
    expect(() => new MemberCredentials(clients, { managementAccountId: '111111111111', externalId: 'x' })).toThrow(InvalidInputError);
    expect(() => new MemberCredentials(clients, { managementAccountId: '111111111111', durationSeconds: 60 })).toThrow(/duration 60/);
  });
});
