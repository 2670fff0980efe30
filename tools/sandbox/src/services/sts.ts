import type { AssumeRoleRequest, AssumeRoleResponse, GetCallerIdentityResponse } from '@aws-sdk/client-sts';
import { defineService } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { IAM_ROLE_ARN } from './iam.js';

const DEFAULT_DURATION_SECONDS = 3600;
/** IAM: a session assumed with role-chained credentials lasts at most one hour. */
const ROLE_CHAINING_LIMIT_SECONDS = 3600;

/**
 * STS: who the caller is, and sessions in member accounts. Modelled beyond the model: the
 * role's trust policy (trusted accounts, optional sts:ExternalId), its MaxSessionDuration, the
 * one-hour limit of role chaining, and that suspended or closing accounts cannot be entered.
 */
export const sts = defineService({
  signingName: 'sts',
  handlers: {
    GetCallerIdentity(_input: object, ctx): GetCallerIdentityResponse {
      return { UserId: ctx.caller.userId, Account: ctx.caller.accountId, Arn: ctx.caller.arn };
    },

    AssumeRole(input: AssumeRoleRequest, ctx): AssumeRoleResponse {
      const roleArn = input.RoleArn ?? '';
      const sessionName = input.RoleSessionName ?? '';
      const parsed = IAM_ROLE_ARN.exec(roleArn);
      if (!parsed) {
        throw new ServiceError('ValidationError', `RoleArn ${roleArn} is not a valid IAM role ARN; use arn:aws:iam::<account id>:role/<role name>.`, { status: 400 });
      }
      const [, accountId = '', roleName = ''] = parsed;
      const denied = () =>
        new ServiceError('AccessDenied', `User: ${ctx.caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, { status: 403 });
      const member = ctx.world.org.accounts.get(accountId);
      if (!member || member.status !== 'ACTIVE') throw denied();
      const role = ctx.world.account(accountId).roles.get(roleName);
      if (!role || role.arn !== roleArn || !role.trustedAccountIds.includes(ctx.accountId)) throw denied();
      if (role.externalId !== undefined && input.ExternalId !== role.externalId) throw denied();

      const duration = input.DurationSeconds ?? DEFAULT_DURATION_SECONDS;
      if (ctx.caller.role && duration > ROLE_CHAINING_LIMIT_SECONDS) {
        throw new ServiceError('ValidationError', 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.', { status: 400 });
      }
      if (duration > role.maxSessionDurationSeconds) {
        throw new ServiceError(
          'ValidationError',
          `The requested DurationSeconds (${duration}) exceeds the MaxSessionDuration (${role.maxSessionDurationSeconds}) set for role ${role.name}.`,
          { status: 400 },
        );
      }
      const { credentials, identity } = ctx.world.credentials.issueRoleSession(accountId, role, sessionName, duration);
      return {
        Credentials: {
          AccessKeyId: credentials.accessKeyId,
          SecretAccessKey: credentials.secretAccessKey,
          SessionToken: credentials.sessionToken,
          Expiration: credentials.expiration,
        },
        AssumedRoleUser: { AssumedRoleId: identity.userId, Arn: identity.arn },
      };
    },
  },
});
