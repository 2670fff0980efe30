import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from './exit-codes.js';
import { InvalidInputError, OrgshieldError, isShapedLikeOrgshieldError } from './orgshield-error.js';

describe('OrgshieldError', () => {
  it('fails with exit code 1 unless told otherwise, and keeps code, name and cause', () => {
    const cause = new Error('underneath');
    const error = new OrgshieldError('Broken', 'it broke.', { cause });
    expect(error).toMatchObject({ code: 'Broken', message: 'it broke.', name: 'OrgshieldError', exitCode: EXIT_CODES.failed });
    expect(error.cause).toBe(cause);
    expect(new OrgshieldError('Bad', 'bad.', { exitCode: EXIT_CODES.badInput }).exitCode).toBe(2);
  });

  it('names a subclass after itself', () => {
    class RolloutGoneError extends OrgshieldError {}
    expect(new RolloutGoneError('Gone', 'gone.').name).toBe('RolloutGoneError');
  });
});

describe('InvalidInputError', () => {
  it('is bad input: exit code 2, code InvalidInput unless named', () => {
    const error = new InvalidInputError('--waves "x" is not a number.');
    expect(error).toBeInstanceOf(OrgshieldError);
    expect(error).toMatchObject({ code: 'InvalidInput', exitCode: 2, name: 'InvalidInputError' });
    expect(new InvalidInputError('no.', { code: 'InvalidRolloutFile' }).code).toBe('InvalidRolloutFile');
  });
});

describe('EXIT_CODES', () => {
  it('keeps the published meaning of each number', () => {
    expect(EXIT_CODES).toEqual({ done: 0, failed: 1, badInput: 2, doneOnIncompleteInput: 3, interrupted: 130 });
  });
});

describe('isShapedLikeOrgshieldError', () => {
  it('accepts an error with a string code and exit code 1 or 2 only', () => {
    expect(isShapedLikeOrgshieldError(Object.assign(new Error('x'), { code: 'InvalidSandboxConfig', exitCode: 2 }))).toBe(true);
    expect(isShapedLikeOrgshieldError(Object.assign(new Error('x'), { code: 'ENOENT', exitCode: 0 }))).toBe(false);
    expect(isShapedLikeOrgshieldError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(isShapedLikeOrgshieldError({ code: 'X', exitCode: 2 })).toBe(false);
  });
});
