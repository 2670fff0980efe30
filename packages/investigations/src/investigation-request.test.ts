import { describe, expect, it } from 'vitest';
import { parseInvestigationRequest } from './investigation-request.js';

const where = { accountId: '123456789012', region: 'eu-west-1' };

describe('parseInvestigationRequest', () => {
  it('takes exactly one subject', () => {
    expect(parseInvestigationRequest({ ...where, instanceId: 'i-0123456789abcdef0' })).toMatchObject({ instanceId: 'i-0123456789abcdef0' });
    expect(parseInvestigationRequest({ ...where, ip: '2001:db8::1', flowLogs: 's3://logs/AWSLogs/' })).toMatchObject({ ip: '2001:db8::1' });
    expect(parseInvestigationRequest({ ...where, roleArn: 'arn:aws:iam::123456789012:user/alice' })).toMatchObject({
      roleArn: 'arn:aws:iam::123456789012:user/alice',
    });
    expect(parseInvestigationRequest({ ...where, finding: { id: 'x' } })).toMatchObject({ finding: { id: 'x' } });
    expect(() => parseInvestigationRequest(where)).toThrow(/names nothing to investigate/);
    expect(() => parseInvestigationRequest({ ...where, ip: '10.0.0.1', instanceId: 'i-0123456789abcdef0' })).toThrow(
      /names instanceId and ip; give exactly one/,
    );
  });

  it('names the bad field', () => {
    expect(() => parseInvestigationRequest({ ...where, instanceId: 'i-xyz' })).toThrow(/field instanceId must be an EC2 instance id/);
    expect(() => parseInvestigationRequest({ ...where, ip: '10.0.0.300' })).toThrow(/field ip must be an IPv4 or IPv6 address/);
    expect(() => parseInvestigationRequest({ ...where, roleArn: 'arn:aws:iam::123:role/x' })).toThrow(/field roleArn must be an IAM role or user ARN/);
    expect(() => parseInvestigationRequest({ region: 'eu-west-1', ip: '10.0.0.1' })).toThrow(/field accountId is missing/);
    expect(() => parseInvestigationRequest({ ...where, region: 'Ireland', ip: '10.0.0.1' })).toThrow(/field region must be an AWS region/);
    expect(() => parseInvestigationRequest({ ...where, ip: '10.0.0.1', from: 'last week' })).toThrow(/field from must be an ISO 8601 time/);
    expect(() => parseInvestigationRequest({ ...where, ip: '10.0.0.1', colour: 'red' })).toThrow(/colour/);
  });
});
