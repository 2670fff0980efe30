import { DetectiveClient, ListGraphsCommand, ListTagsForResourceCommand as DetectiveListTags, ValidationException } from '@aws-sdk/client-detective';
import { CreateTagsCommand, DescribeInstancesCommand, DescribeVpcsCommand, EC2Client, type DescribeInstancesRequest } from '@aws-sdk/client-ec2';
import { BadRequestException, GetFindingsCommand, GuardDutyClient, ListDetectorsCommand, type GetFindingsRequest } from '@aws-sdk/client-guardduty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxWith, type RunningSandbox } from '../sandbox-server.js';
import { defineService } from '../service-definition.js';
import { ServiceError } from '../service-error.js';

/**
 * The EC2 query and restJson protocols through the real SDK clients, with services defined
 * here: what a handler receives and what the client gets back show the wire format is right
 * both ways, before the EC2, Detective and GuardDuty services exist.
 */
const received: { operation: string; input: unknown; account: string; region: string }[] = [];
const launchTime = new Date('2024-05-01T12:34:56.000Z');

const ec2 = defineService({
  signingName: 'ec2',
  handlers: {
    DescribeInstances(input: DescribeInstancesRequest, ctx) {
      received.push({ operation: 'DescribeInstances', input, account: ctx.accountId, region: ctx.region });
      return {
        Reservations: [
          {
            ReservationId: 'r-0123456789abcdef0',
            OwnerId: ctx.accountId,
            Instances: [{ InstanceId: 'i-0123456789abcdef0', LaunchTime: launchTime, State: { Code: 16, Name: 'running' }, Tags: [{ Key: 'env', Value: 'prod & <dev>' }] }],
          },
        ],
        NextToken: 'next-page',
      };
    },
    CreateTags(input: object, ctx) {
      received.push({ operation: 'CreateTags', input, account: ctx.accountId, region: ctx.region });
      return {};
    },
  },
});

const guardduty = defineService({
  signingName: 'guardduty',
  handlers: {
    ListDetectors(input: object) {
      received.push({ operation: 'ListDetectors', input, account: '', region: '' });
      return { DetectorIds: ['d1', 'd2'], NextToken: 'n2' };
    },
    GetFindings(input: GetFindingsRequest) {
      received.push({ operation: 'GetFindings', input, account: '', region: '' });
      if (input.FindingIds?.includes('missing')) throw new ServiceError('BadRequestException', 'The request is rejected because an invalid or out-of-range value is specified as an input parameter.', { fields: { Type: 'InvalidInputException' } });
      return { Findings: [] };
    },
  },
});

const detective = defineService({
  signingName: 'detective',
  handlers: {
    ListGraphs(input: object) {
      received.push({ operation: 'ListGraphs', input, account: '', region: '' });
      return { GraphList: [{ Arn: 'arn:aws:detective:us-east-1:111122223333:graph:0123456789abcdef0123456789abcdef', CreatedTime: launchTime }] };
    },
    ListTagsForResource(input: { ResourceArn: string }) {
      received.push({ operation: 'ListTagsForResource', input, account: '', region: '' });
      return { Tags: { owner: 'secops' } };
    },
  },
});

let sandbox: RunningSandbox;
const clientConfig = () => ({
  endpoint: sandbox.url,
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIAPROTOCOLTEST0001', secretAccessKey: 'x' },
  maxAttempts: 1,
});

beforeAll(async () => {
  sandbox = await startSandboxWith(
    { port: 0, accounts: 5, ous: 1, faults: { operations: { 'ec2:CreateTags': { rate: 1, burst: 1 } } } },
    [ec2, guardduty, detective],
  );
});
afterAll(() => sandbox.close());

describe('EC2 query protocol', () => {
  it('reads flattened lists and filters into the model shape, and answers XML the client reads', async () => {
    const client = new EC2Client(clientConfig());
    const out = await client.send(
      new DescribeInstancesCommand({ InstanceIds: ['i-1', 'i-2'], Filters: [{ Name: 'tag:env', Values: ['prod', 'dev'] }, { Name: 'instance-state-name', Values: ['running'] }], MaxResults: 5 }),
    );
    expect(received.at(-1)).toEqual({
      operation: 'DescribeInstances',
      input: { InstanceIds: ['i-1', 'i-2'], Filters: [{ Name: 'tag:env', Values: ['prod', 'dev'] }, { Name: 'instance-state-name', Values: ['running'] }], MaxResults: 5 },
      account: sandbox.world.org.managementAccountId,
      region: 'eu-west-1',
    });
    expect(out.NextToken).toBe('next-page');
    expect(out.Reservations?.[0]?.Instances?.[0]).toMatchObject({ InstanceId: 'i-0123456789abcdef0', LaunchTime: launchTime, State: { Code: 16, Name: 'running' }, Tags: [{ Key: 'env', Value: 'prod & <dev>' }] });
    expect(out.Reservations?.[0]?.OwnerId).toBe(sandbox.world.org.managementAccountId);
  });

  it('answers a missing parameter with MissingParameter, over the rate with RequestLimitExceeded, an unimplemented action with InvalidAction', async () => {
    const client = new EC2Client(clientConfig());
    await expect(client.send(new CreateTagsCommand({ Resources: undefined as unknown as string[], Tags: [{ Key: 'a', Value: 'b' }] }))).rejects.toMatchObject({
      name: 'MissingParameter',
      message: expect.stringContaining("Value null at 'resources'"),
      $metadata: { httpStatusCode: 400 },
    });
    await expect(client.send(new CreateTagsCommand({ Resources: ['i-1'], Tags: [{ Key: 'a', Value: 'b' }] }))).rejects.toMatchObject({
      name: 'RequestLimitExceeded',
      $metadata: { httpStatusCode: 503 },
    });
    await expect(client.send(new DescribeVpcsCommand({}))).rejects.toMatchObject({ name: 'InvalidAction', $metadata: { httpStatusCode: 400 } });
  });
});

describe('restJson protocol', () => {
  it('binds query-string members and answers with JSON member names from the model', async () => {
    const client = new GuardDutyClient(clientConfig());
    const out = await client.send(new ListDetectorsCommand({ MaxResults: 7, NextToken: 'abc' }));
    expect(received.at(-1)?.input).toEqual({ MaxResults: 7, NextToken: 'abc' });
    expect(out).toMatchObject({ DetectorIds: ['d1', 'd2'], NextToken: 'n2' });
  });

  it('binds URI labels and the JSON body, and validates with the error the operation declares', async () => {
    const client = new GuardDutyClient(clientConfig());
    await client.send(new GetFindingsCommand({ DetectorId: 'det/1 x', FindingIds: ['f1'], SortCriteria: { AttributeName: 'severity', OrderBy: 'DESC' } }));
    expect(received.at(-1)?.input).toEqual({ DetectorId: 'det/1 x', FindingIds: ['f1'], SortCriteria: { AttributeName: 'severity', OrderBy: 'DESC' } });
    const tooMany = await client.send(new GetFindingsCommand({ DetectorId: 'd1', FindingIds: Array.from({ length: 51 }, (_, i) => `f${i}`) })).catch((e: unknown) => e);
    expect(tooMany).toBeInstanceOf(BadRequestException);
    expect(tooMany).toMatchObject({ message: expect.stringContaining("at 'findingIds'"), $metadata: { httpStatusCode: 400 } });
    const thrown = await client.send(new GetFindingsCommand({ DetectorId: 'd1', FindingIds: ['missing'] })).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(BadRequestException);
    expect(thrown).toMatchObject({ Type: 'InvalidInputException' });
  });

  it('writes timestamps in the shape’s format and reads labels holding ARNs', async () => {
    const client = new DetectiveClient(clientConfig());
    const graphs = await client.send(new ListGraphsCommand({}));
    expect(graphs.GraphList?.[0]?.CreatedTime).toEqual(launchTime);
    const arn = 'arn:aws:detective:us-east-1:111122223333:graph:0123456789abcdef0123456789abcdef';
    const tags = await client.send(new DetectiveListTags({ ResourceArn: arn }));
    expect(received.at(-1)?.input).toEqual({ ResourceArn: arn });
    expect(tags.Tags).toEqual({ owner: 'secops' });
    const invalid = await client.send(new DetectiveListTags({ ResourceArn: 'not-an-arn' })).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ValidationException);
  });
});
