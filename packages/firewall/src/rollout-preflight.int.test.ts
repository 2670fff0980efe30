import { join } from 'node:path';
import { GetNotificationChannelCommand } from '@aws-sdk/client-fms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect } from 'vitest';
import { AwsClientFactory } from '@orgshield/aws';
import { harnessTest } from '../test/harness-fixture.js';
import { writeTree } from '../test/rollout-harness.js';
import { fmsClient } from './live-policies.js';
import { readRolloutSource } from './rollout-loader.js';
import { checkAdministrator, ensureNotificationChannel, NotFmsAdministratorError } from './rollout-preflight.js';

const test = harnessTest.override({ sandboxOptions: { accounts: 40, ous: 8, seed: 3, timeScale: 0.001 } });

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:fms-alerts';
const ROLE = 'arn:aws:iam::123456789012:role/fms-sns';

describe('rollout preflight', () => {
  test('only the FMS administrator may run a rollout', async ({ sandbox, harness }) => {
    const admin = sandbox.world.org.managementAccountId;
    expect(await checkAdministrator(harness.aws, 'eu-west-1')).toBe(admin);

    const member = sandbox.world.snapshot().accounts.find((account) => account.status === 'ACTIVE' && account.id !== admin)?.id ?? '';
    const env = sandbox.env();
    const sts = new STSClient({ endpoint: sandbox.url, region: 'us-east-1', credentials: { accessKeyId: env['AWS_ACCESS_KEY_ID'] ?? '', secretAccessKey: env['AWS_SECRET_ACCESS_KEY'] ?? '' } });
    const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${member}:role/OrganizationAccountAccessRole`, RoleSessionName: 'preflight-test' }));
    const asMember = new AwsClientFactory({
      endpoint: sandbox.url,
      region: 'us-east-1',
      credentials: { accessKeyId: Credentials?.AccessKeyId ?? '', secretAccessKey: Credentials?.SecretAccessKey ?? '', sessionToken: Credentials?.SessionToken ?? '' },
    });
    const refused = await checkAdministrator(asMember, 'eu-west-1').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(NotFmsAdministratorError);
    expect((refused as Error).message).toBe(
      `account ${member} is not the Firewall Manager administrator (InvalidOperationException); run the rollout with the administrator's credentials, or make this account the administrator (fms associate-admin-account).`,
    );
    asMember.destroy();
  });

  test('a rollout with an SNS channel points every region at it once; regions may run in parallel', { timeout: 90_000 }, async ({ sandbox, harness }) => {
    await harness.startWorker();
    const root = await writeTree({
      'shield.yaml': 'name: edge-shield\ntype: SHIELD_ADVANCED\nresourceTypes: [alb, eip]\nregions: [eu-west-1, us-east-1]\n',
      'rollout.yaml': `kind: Rollout
name: notified
policies: [shield.yaml]
notifications: { snsTopicArn: "${TOPIC}", snsRoleName: "${ROLE}" }
regions: { concurrency: parallel }
waves:
  - { name: canary, targets: { tags: { env: dev } }, mode: audit, gates: { timeout: 30s } }
  - { name: everyone, targets: { all: true }, mode: remediate, gates: { maxNonCompliantAccounts: 0, timeout: 30s } }
`,
    });
    const { rolloutId } = await harness.control.submit(await readRolloutSource(join(root, 'rollout.yaml')));
    expect((await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 60_000 })).status).toBe('completed');
    for (const region of ['eu-west-1', 'us-east-1']) {
      expect(await fmsClient(harness.aws, region).send(new GetNotificationChannelCommand({}))).toMatchObject({ SnsTopicArn: TOPIC, SnsRoleName: ROLE });
    }
    const puts = () => sandbox.requests().filter((entry) => entry.operation === 'PutNotificationChannel');
    expect(puts().map((entry) => entry.region).sort()).toEqual(['eu-west-1', 'us-east-1']);
    expect(await ensureNotificationChannel(harness.aws, { snsTopicArn: TOPIC, snsRoleName: ROLE }, ['eu-west-1', 'us-east-1'])).toEqual([]);
    expect(puts()).toHaveLength(2);

    // In parallel, each region's canary write came before the other region's canary gate passed
    // (one region after the other, it would come after), and no region began the second wave
    // before both had passed the first.
    const events = (await harness.control.store.events(rolloutId)).events.map((event) => event.message);
    const at = (prefix: string) => events.findIndex((message) => message.startsWith(prefix));
    for (const [region, other] of [['eu-west-1', 'us-east-1'], ['us-east-1', 'eu-west-1']] as const) {
      expect(at(`canary/${region}: edge-shield-audit`)).toBeGreaterThanOrEqual(0);
      expect(at(`canary/${region}: edge-shield-audit`)).toBeLessThan(at(`canary/${other} gate passed`));
    }
    const lastCanary = Math.max(...events.flatMap((message, index) => (message.startsWith('canary/') ? [index] : [])));
    expect(lastCanary).toBeLessThan(at('everyone/'));
  });
});
