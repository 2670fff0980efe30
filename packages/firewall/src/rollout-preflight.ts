import { GetAdminAccountCommand, GetNotificationChannelCommand, PutNotificationChannelCommand } from '@aws-sdk/client-fms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AwsCallError, type AwsClientFactory } from '@orgshield/aws';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import { fmsClient } from './live-policies.js';
import type { Rollout } from './rollout-schema.js';

/** The caller cannot run a rollout: it is not (yet) the Firewall Manager administrator. */
export class NotFmsAdministratorError extends OrgshieldError {
  constructor(message: string) {
    super('NotFmsAdministrator', message, { exitCode: EXIT_CODES.failed });
  }
}

/**
 * Before anything is read or written: the caller must be the FMS administrator with its role
 * READY. FMS refuses policy calls otherwise, and a rollout would stop half-applied. Returns the
 * administrator's account id.
 */
export async function checkAdministrator(aws: AwsClientFactory, region: string): Promise<string> {
  const identity = await aws.client(STSClient, { region }).send(new GetCallerIdentityCommand({}));
  let admin: { AdminAccount?: string; RoleStatus?: string };
  try {
    admin = await fmsClient(aws, region).send(new GetAdminAccountCommand({}));
  } catch (error) {
    if (error instanceof AwsCallError && ['InvalidOperationException', 'ResourceNotFoundException', 'AccessDeniedException'].includes(error.awsCode)) {
      throw new NotFmsAdministratorError(
        `account ${identity.Account ?? 'unknown'} is not the Firewall Manager administrator (${error.awsCode}); run the rollout with the administrator's credentials, or make this account the administrator (fms associate-admin-account).`,
      );
    }
    throw error;
  }
  if (!admin.AdminAccount || admin.AdminAccount !== identity.Account) {
    throw new NotFmsAdministratorError(
      `the Firewall Manager administrator is ${admin.AdminAccount ?? 'not set'}, not the caller's account ${identity.Account ?? 'unknown'}; run the rollout with the administrator's credentials.`,
    );
  }
  if (admin.RoleStatus !== 'READY') {
    throw new NotFmsAdministratorError(`the Firewall Manager administrator ${admin.AdminAccount} is ${admin.RoleStatus ?? 'in an unknown state'}, not READY; wait until its setup finishes.`);
  }
  return admin.AdminAccount;
}

/**
 * Points FMS's notification channel of every region the rollout touches at the rollout's SNS
 * topic, where it is not already; returns the regions changed.
 */
export async function ensureNotificationChannel(
  aws: AwsClientFactory,
  channel: NonNullable<Rollout['notifications']>,
  regions: readonly string[],
): Promise<string[]> {
  const changed: string[] = [];
  for (const region of regions) {
    const fms = fmsClient(aws, region);
    const current = await fms.send(new GetNotificationChannelCommand({}));
    if (current.SnsTopicArn !== channel.snsTopicArn || current.SnsRoleName !== channel.snsRoleName) {
      await fms.send(new PutNotificationChannelCommand({ SnsTopicArn: channel.snsTopicArn, SnsRoleName: channel.snsRoleName }));
      changed.push(region);
    }
  }
  return changed;
}
