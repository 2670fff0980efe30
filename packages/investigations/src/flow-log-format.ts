/**
 * The VPC flow log text format: the field names of versions 2 to 7, the default format,
 * and how a file's first line tells its format.
 */

/** Longest line kept: a record of every v2-v7 field with long ECS ARNs is under 2 KiB. */
export const MAX_LINE_BYTES = 65536;

/** Every field of flow log versions 2 to 7, each with the version that introduced it. */
export const FLOW_LOG_FIELDS = {
  version: 2, 'account-id': 2, 'interface-id': 2, srcaddr: 2, dstaddr: 2, srcport: 2, dstport: 2,
  protocol: 2, packets: 2, bytes: 2, start: 2, end: 2, action: 2, 'log-status': 2,
  'vpc-id': 3, 'subnet-id': 3, 'instance-id': 3, 'tcp-flags': 3, type: 3, 'pkt-srcaddr': 3, 'pkt-dstaddr': 3,
  region: 4, 'az-id': 4, 'sublocation-type': 4, 'sublocation-id': 4,
  'pkt-src-aws-service': 5, 'pkt-dst-aws-service': 5, 'flow-direction': 5, 'traffic-path': 5,
  'ecs-cluster-arn': 7, 'ecs-cluster-name': 7, 'ecs-container-instance-arn': 7, 'ecs-container-instance-id': 7,
  'ecs-container-id': 7, 'ecs-second-container-id': 7, 'ecs-service-name': 7, 'ecs-task-definition-arn': 7,
  'ecs-task-arn': 7, 'ecs-task-id': 7,
} as const satisfies Record<string, number>;

export type FlowLogField = keyof typeof FLOW_LOG_FIELDS;

/** The default format: every version 2 field in this order, written without a header by CloudWatch Logs. */
export const DEFAULT_FLOW_LOG_FORMAT: readonly FlowLogField[] = [
  'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport',
  'protocol', 'packets', 'bytes', 'start', 'end', 'action', 'log-status',
];

/** Without these a record says nothing the analysis can use. */
export const REQUIRED_FLOW_LOG_FIELDS: readonly FlowLogField[] = [
  'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'action',
];

export type HeaderReading =
  /** The line is a record, not a header: the file is in the default format. */
  | { kind: 'no-header' }
  /**
   * A header. Unknown names keep their column (its values are ignored) and are listed so
   * the caller can report them; `missing` lists required fields the format lacks.
   */
  | { kind: 'header'; columns: (FlowLogField | null)[]; unknown: string[]; missing: FlowLogField[] };

/** A token that could be a field name (letters, digits, `-`, `_`, `$`, not starting with a digit); no record value but an id looks so. */
const NAME = /^[A-Za-z_$][\w$-]*$/;

/** Whether the token is a field of versions 2 to 7: own properties only (`constructor`, `__proto__` are not fields). */
function isField(token: string): token is FlowLogField {
  return Object.hasOwn(FLOW_LOG_FIELDS, token);
}

/**
 * A first line is a header when every token looks like a name and at least one is a real
 * field name. A record never passes: every format a record could have carries a number, an
 * address or a `-`, and no record value spells a field name in lower case. Names that are not
 * fields (`__proto__`, `toString`, a field of a later version) are listed as unknown and their
 * columns ignored.
 */
export function readFlowLogHeader(line: string): HeaderReading {
  const tokens = line.trim().split(/\s+/);
  if (!tokens.every((token) => NAME.test(token)) || !tokens.some(isField)) {
    return { kind: 'no-header' };
  }
  const columns = tokens.map((token) => (isField(token) ? token : null));
  return {
    kind: 'header',
    columns,
    unknown: tokens.filter((token) => !isField(token)),
    missing: REQUIRED_FLOW_LOG_FIELDS.filter((field) => !columns.includes(field)),
  };
}
