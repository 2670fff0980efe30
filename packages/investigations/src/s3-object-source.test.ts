import { describe, expect, it } from 'vitest';
import { parseS3Url } from './s3-object-source.js';

describe('parseS3Url', () => {
  it('splits bucket and prefix', () => {
    expect(parseS3Url('s3://log-archive/AWSLogs/123456789012/vpcflowlogs/')).toEqual({
      bucket: 'log-archive',
      prefix: 'AWSLogs/123456789012/vpcflowlogs/',
    });
    expect(parseS3Url('s3://log-archive')).toEqual({ bucket: 'log-archive', prefix: '' });
    expect(parseS3Url('s3://log-archive/')).toEqual({ bucket: 'log-archive', prefix: '' });
  });

  it('refuses what is not an S3 location', () => {
    expect(() => parseS3Url('https://log-archive.s3.amazonaws.com/x')).toThrow(/not an s3:\/\/bucket\/prefix URL/);
    expect(() => parseS3Url('s3://Log_Archive/x')).toThrow(/"Log_Archive" in s3:\/\/Log_Archive\/x is not a valid S3 bucket name/);
  });
});
