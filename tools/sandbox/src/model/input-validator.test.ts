import { describe, expect, it } from 'vitest';
import { compilePattern, validationMessage, ValidatorCompiler } from './input-validator.js';
import { loadServiceModel, type ServiceModel } from './service-model.js';

const organizations = loadServiceModel('organizations');
const sts = loadServiceModel('sts');

function validate(model: ServiceModel, operation: string, input: unknown) {
  const shape = model.operations[operation]?.input?.shape;
  if (!shape) throw new Error(`${operation} has no input`);
  return new ValidatorCompiler(model).compile(shape)(input);
}

describe('ValidatorCompiler', () => {
  it('accepts input the model allows', () => {
    expect(validate(organizations, 'ListChildren', { ParentId: 'r-ab12', ChildType: 'ACCOUNT', MaxResults: 20 })).toEqual([]);
    expect(validate(sts, 'AssumeRole', { RoleArn: 'arn:aws:iam::123456789012:role/Admin', RoleSessionName: 'job-42', DurationSeconds: 900 })).toEqual([]);
  });

  it('names a missing required member', () => {
    const failures = validate(organizations, 'ListChildren', { ChildType: 'ACCOUNT' });
    expect(failures).toMatchObject([{ path: 'parentId', kind: 'required' }]);
    expect(validationMessage(failures)).toBe("1 validation error detected: Value null at 'parentId' failed to satisfy constraint: Member must not be null");
  });

  it('checks enums, ranges and lengths', () => {
    const failures = validate(organizations, 'ListChildren', { ParentId: 'r-ab12', ChildType: 'USER', MaxResults: 21 });
    expect(failures.map((f) => [f.path, f.kind])).toEqual([
      ['childType', 'enum'],
      ['maxResults', 'max'],
    ]);
    expect(validationMessage(failures)).toMatch(/^2 validation errors detected: .*Member must satisfy enum value set: \[ACCOUNT, ORGANIZATIONAL_UNIT\]; .*less than or equal to 20$/);
    expect(validate(sts, 'AssumeRole', { RoleArn: 'arn:aws:iam::role/x', RoleSessionName: 'a', DurationSeconds: 899 }).map((f) => [f.path, f.kind])).toEqual([
      ['roleArn', 'minLength'],
      ['roleSessionName', 'minLength'],
      ['durationSeconds', 'min'],
    ]);
  });

  it('matches patterns against the whole value, as the services do', () => {
    expect(validate(sts, 'AssumeRole', { RoleArn: 'arn:aws:iam::123456789012:role/Admin', RoleSessionName: 'has space' })).toMatchObject([
      { path: 'roleSessionName', kind: 'pattern' },
    ]);
    expect(validate(organizations, 'DescribeAccount', { AccountId: '1234567890123' }).map((f) => [f.path, f.kind])).toEqual([
      ['accountId', 'maxLength'],
      ['accountId', 'pattern'],
    ]);
    const parentId = compilePattern('^(r-[0-9a-z]{4,32})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$');
    expect(['r-ab12', 'ou-ab12-abcdefgh', 'r-ab12x!', 'x-ou-ab12-abcdefgh'].map((v) => parentId?.test(v))).toEqual([true, true, false, false]);
  });

  it('checks list members with their position, and types', () => {
    const failures = validate(sts, 'AssumeRole', {
      RoleArn: 'arn:aws:iam::123456789012:role/Admin',
      RoleSessionName: 'ok-name',
      Tags: [{ Key: 'env', Value: 'prod' }, { Key: 'team' }],
      DurationSeconds: '3600',
    });
    expect(failures.map((f) => [f.path, f.kind])).toEqual([
      ['durationSeconds', 'type'],
      ['tags.2.member.value', 'required'],
    ]);
  });

  it('does not show the value of a sensitive member', () => {
    const failures = validate(organizations, 'InviteAccountToOrganization', { Target: { Id: 'x', Type: 'EMAIL' }, Notes: 'n'.repeat(1025) });
    expect(failures).toMatchObject([{ path: 'notes', kind: 'maxLength', sensitive: true }]);
    expect(validationMessage(failures)).toContain("Value at 'notes'");
  });

  it('compiles recursive shapes', () => {
    const wafv2 = loadServiceModel('wafv2');
    const failures = validate(wafv2, 'CheckCapacity', {
      Scope: 'REGIONAL',
      Rules: [{ Name: 'r', Priority: 0, Statement: { NotStatement: { Statement: { NotStatement: { Statement: {} } } } }, VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'm' } }],
    });
    expect(failures).toEqual([]);
    const deep = validate(wafv2, 'CheckCapacity', { Scope: 'REGIONAL', Rules: [{ Name: 'r', Priority: 0, Statement: { NotStatement: { Statement: { ByteMatchStatement: {} } } }, VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'm' } }] });
    expect(deep.map((f) => f.path)).toContain('rules.1.member.statement.notStatement.statement.byteMatchStatement.searchString');
  });
});
