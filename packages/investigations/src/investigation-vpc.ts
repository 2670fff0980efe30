import { DescribeVpcsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { z } from 'zod';
import { PRIVATE_RANGES } from './flow-findings.js';
import { parseCidr } from './flow-ip.js';
import { errorName, parseAwsAnswer, withFreshCredentials } from './investigation-aws.js';
import type { ResolvedEntity } from './investigation-entity.js';

/** The address ranges an investigation treats as inside the VPC (large transfers there are internal-transfer, not exfiltration). */
export interface VpcRanges {
  /** `vpc`: the associated IPv4 and IPv6 blocks of the interfaces' VPCs; `private-ranges`: the default, because they could not be read. */
  source: 'vpc' | 'private-ranges';
  vpcIds: string[];
  cidrs: string[];
  /** Why the private ranges stand in, one sentence; absent when the VPC was read. */
  reason?: string;
}

/** Errors that say the VPC cannot be read here, as opposed to a failure worth retrying the job for. */
const UNREADABLE = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException', 'InvalidVpcID.NotFound', 'InvalidVpcID.Malformed']);

const cidr = z.string().refine((text) => text.includes('/') && parseCidr(text) !== null, { error: (issue) => `${String(issue.input)} is not a CIDR block` });
const state = z.object({ State: z.string().optional() }).optional();
const DescribeVpcsAnswer = z.object({
  Vpcs: z
    .array(
      z.object({
        VpcId: z.string(),
        CidrBlock: cidr.optional(),
        CidrBlockAssociationSet: z.array(z.object({ CidrBlock: cidr.optional(), CidrBlockState: state })).optional(),
        Ipv6CidrBlockAssociationSet: z.array(z.object({ Ipv6CidrBlock: cidr.optional(), Ipv6CidrBlockState: state })).optional(),
      }),
    )
    .optional(),
});

/**
 * The ranges of the VPCs the subject's network interfaces are in, from DescribeVpcs: every
 * IPv4 and IPv6 block in state `associated` (a block being or already disassociated no
 * longer routes inside the VPC). When no VPC is known, or it cannot be read (access denied,
 * not found), the private ranges stand in and `reason` says why.
 */
export async function vpcRanges(entity: ResolvedEntity, ec2: (fresh: boolean) => EC2Client): Promise<VpcRanges> {
  const vpcIds = [...new Set(entity.networkInterfaces.map((eni) => eni.vpcId).filter((id): id is string => id !== undefined))];
  const fallback = (reason: string): VpcRanges => ({ source: 'private-ranges', vpcIds, cidrs: [...PRIVATE_RANGES], reason });
  if (vpcIds.length === 0) {
    return fallback(`No VPC is known for the subject, so the private ranges (${PRIVATE_RANGES.join(', ')}) are taken as the VPC's ranges.`);
  }
  const what = vpcIds.length === 1 ? `VPC ${vpcIds[0]}` : `VPCs ${vpcIds.join(', ')}`;
  let answer: unknown;
  try {
    answer = await withFreshCredentials(ec2, (client) => client.send(new DescribeVpcsCommand({ VpcIds: vpcIds })));
  } catch (error) {
    const name = errorName(error);
    if (name === undefined || !UNREADABLE.has(name)) throw error;
    return fallback(
      `${what} could not be read (${name}${/denied|unauthorized/i.test(name) ? ': ec2:DescribeVpcs is not allowed' : ''}), so the private ranges (${PRIVATE_RANGES.join(', ')}) are taken as its ranges; a transfer to another range of the VPC is reported as exfiltration.`,
    );
  }
  const vpcs = parseAwsAnswer('EC2', 'DescribeVpcs', DescribeVpcsAnswer, answer).Vpcs ?? [];
  const cidrs: string[] = [];
  for (const vpc of vpcs) {
    const v4 = vpc.CidrBlockAssociationSet?.filter((block) => block.CidrBlockState?.State === 'associated').map((block) => block.CidrBlock) ?? [vpc.CidrBlock];
    const v6 = (vpc.Ipv6CidrBlockAssociationSet ?? []).filter((block) => block.Ipv6CidrBlockState?.State === 'associated').map((block) => block.Ipv6CidrBlock);
    for (const block of [...v4, ...v6]) if (block !== undefined && !cidrs.includes(block)) cidrs.push(block);
  }
  if (cidrs.length === 0) {
    return fallback(`${what} has no associated address block in DescribeVpcs' answer, so the private ranges (${PRIVATE_RANGES.join(', ')}) are taken as its ranges.`);
  }
  return { source: 'vpc', vpcIds, cidrs };
}
