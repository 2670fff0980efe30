import type { DatasourcePackage, DatasourcePackageIngestState, MemberDetail } from '@aws-sdk/client-detective';
import { randomInt, randomString } from '../world/prng.js';
import { incidentPlan } from '../world/seeded-incidents.js';
import { delegatedAdministrator } from '../world/delegated-administrator.js';
import { defineRegionState } from '../world/world.js';
import { addInvestigation, type InvestigationBook } from './detective-investigations.js';

/* Detective's behavior graphs: who administers them, their members and the members' ingest history. */

const GRAPH_CREATED = new Date(Date.UTC(2024, 1, 1, 12));

export type IngestHistory = Partial<Record<DatasourcePackage, Partial<Record<DatasourcePackageIngestState, Date>>>>;

export interface GraphMember {
  accountId: string;
  email: string;
  status: NonNullable<MemberDetail['Status']>;
  disabledReason?: MemberDetail['DisabledReason'];
  invitedTime: Date;
  updatedTime: Date;
  ingest: IngestHistory;
}

export interface BehaviorGraph extends InvestigationBook {
  arn: string;
  adminAccountId: string;
  createdTime: Date;
  adminIngest: IngestHistory;
  members: Map<string, GraphMember>;
}

const administrator = delegatedAdministrator('detective');

/**
 * Makes `administratorAccountId` the organization's delegated Detective administrator (as
 * EnableOrganizationAdminAccount would): its graphs then hold the members, and the management
 * account has none of its own. Call it before the first Detective request.
 */
export const configureDetective = administrator.configure;
export const administratorOf = administrator.of;

/**
 * The behavior graph of a region, kept in the administrator's (the management account's, or
 * the delegated administrator's) state: every active member account, mostly ENABLED with DETECTIVE_CORE ingesting since it
 * joined, a few INVITED, disabled for volume or with ingest stopped lately. Accounts with a
 * planted incident are always ENABLED and ingesting, and the TorClient instance's role has an
 * older investigation whose scope ends before the incident.
 */
export const behaviorGraphs = defineRegionState('detective:graph', ({ world, accountId, region }): BehaviorGraph => {
  const random = world.random(`detective:graph:${region}`);
  const arn = `arn:aws:detective:${region}:${accountId}:graph:${randomString(random, 32, '0123456789abcdef')}`;
  const plan = incidentPlan(world);
  const incidentAccounts = new Set(plan.incidents.map((incident) => incident.instance.accountId));
  const members = new Map<string, GraphMember>();
  for (const account of world.org.accounts.values()) {
    if (account.id === accountId || account.status !== 'ACTIVE') continue;
    const invitedTime = new Date(GRAPH_CREATED.getTime() + randomInt(random, 0, 200) * 86_400_000);
    const draw = incidentAccounts.has(account.id) ? 1 : random();
    const member: GraphMember = {
      accountId: account.id,
      email: account.email,
      status: draw < 0.02 ? 'INVITED' : draw < 0.03 ? 'ACCEPTED_BUT_DISABLED' : 'ENABLED',
      invitedTime,
      updatedTime: invitedTime,
      ingest: {},
    };
    if (member.status === 'ACCEPTED_BUT_DISABLED') member.disabledReason = 'VOLUME_TOO_HIGH';
    if (member.status === 'ENABLED') {
      member.ingest = { DETECTIVE_CORE: { STARTED: invitedTime }, ASFF_SECURITYHUB_FINDING: { STARTED: invitedTime } };
      if (random() < 0.5) member.ingest.EKS_AUDIT = { STARTED: invitedTime };
      // A few members stopped sending core data a day before the incidents.
      if (draw < 0.06) member.ingest.DETECTIVE_CORE = { STARTED: invitedTime, STOPPED: new Date(plan.anchor.getTime() - 86_400_000) };
    }
    members.set(account.id, member);
  }
  const graph: BehaviorGraph = {
    arn,
    adminAccountId: accountId,
    createdTime: GRAPH_CREATED,
    adminIngest: { DETECTIVE_CORE: { STARTED: GRAPH_CREATED }, ASFF_SECURITYHUB_FINDING: { STARTED: GRAPH_CREATED } },
    members,
    investigations: new Map(),
    nextInvestigation: 1,
  };
  const tor = plan.incidents.find((incident) => incident.kind === 'tor-client' && incident.instance.region === region);
  if (tor) {
    const scopeEnd = new Date(plan.anchor.getTime() - 2 * 86_400_000);
    addInvestigation(world, graph, { entityArn: tor.instance.roleArn, scopeStart: new Date(scopeEnd.getTime() - 86_400_000), scopeEnd, createdTime: scopeEnd, runMs: 0 });
  }
  return graph;
});

export function memberDetail(graph: BehaviorGraph, member: GraphMember): MemberDetail {
  return {
    AccountId: member.accountId,
    EmailAddress: member.email,
    GraphArn: graph.arn,
    MasterId: graph.adminAccountId,
    AdministratorId: graph.adminAccountId,
    Status: member.status,
    DisabledReason: member.disabledReason,
    InvitedTime: member.invitedTime,
    UpdatedTime: member.updatedTime,
    InvitationType: 'ORGANIZATION',
    DatasourcePackageIngestStates: Object.fromEntries(
      Object.entries(member.ingest).map(([name, changes]) => [name, Object.entries(changes).sort(([, a], [, b]) => b.getTime() - a.getTime())[0]?.[0]]),
    ),
  };
}

export function ingestHistory(ingest: IngestHistory) {
  return Object.fromEntries(
    Object.entries(ingest).map(([name, changes]) => [name, Object.fromEntries(Object.entries(changes).map(([state, at]) => [state, { Timestamp: at }]))]),
  );
}
