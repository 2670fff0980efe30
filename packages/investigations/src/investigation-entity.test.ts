import { describe, expect, it } from 'vitest';
import { roleArnFromInstanceProfile } from './investigation-entity.js';

describe('roleArnFromInstanceProfile', () => {
  it('names the role like its profile, path included', () => {
    expect(roleArnFromInstanceProfile('arn:aws:iam::123456789012:instance-profile/web-app')).toBe('arn:aws:iam::123456789012:role/web-app');
    expect(roleArnFromInstanceProfile('arn:aws-us-gov:iam::123456789012:instance-profile/team/web')).toBe(
      'arn:aws-us-gov:iam::123456789012:role/team/web',
    );
    expect(roleArnFromInstanceProfile('arn:aws:iam::123456789012:role/web-app')).toBeUndefined();
  });
});
