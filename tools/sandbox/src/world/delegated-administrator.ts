import { defineWorldState, type World } from './world.js';

/**
 * Which account administers a security service for the organization: the management account
 * unless `configure` delegates it to a member (as the service's EnableOrganizationAdminAccount
 * would). Detective and GuardDuty each keep their own.
 */
export function delegatedAdministrator(service: string) {
  const settings = defineWorldState(`${service}:settings`, (): { administratorAccountId?: string } => ({}));
  return {
    configure(world: World, options: { administratorAccountId?: string }): void {
      const account = options.administratorAccountId === undefined ? undefined : world.org.accounts.get(options.administratorAccountId);
      if (options.administratorAccountId !== undefined && account?.status !== 'ACTIVE') {
        throw new Error(`configure ${service}: ${options.administratorAccountId} is not an active account of the sandbox organization`);
      }
      world.state(settings).administratorAccountId = options.administratorAccountId;
    },
    of(world: World): string {
      return world.state(settings).administratorAccountId ?? world.org.managementAccountId;
    },
  };
}
