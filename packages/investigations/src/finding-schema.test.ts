import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GuardDutyFindingSchema } from './finding-schema.js';

// The GuardDuty model (botocore JSON) the SDKs are generated from: member names are the
// PascalCase GetFindings spelling, locationName the camelCase wire (and EventBridge) spelling.
const modelPath = fileURLToPath(new URL('../../../../shared/aws-models/guardduty/service-2017-11-28.json.gz', import.meta.url));

interface ModelShape {
  type: string;
  members?: Record<string, { shape: string; locationName?: string }>;
  member?: { shape: string };
}

describe('GuardDutyFindingSchema', () => {
  it('reads only members the GuardDuty model has, each camelCase name the lower-cased PascalCase one', () => {
    const model = JSON.parse(gunzipSync(readFileSync(modelPath)).toString('utf8')) as { shapes: Record<string, ModelShape> };
    const checked: string[] = [];

    const walk = (schema: z.ZodType, shapeName: string, path: string): void => {
      const shape = model.shapes[shapeName];
      expect(shape, `model shape ${shapeName} at ${path}`).toBeDefined();
      const inner = unwrap(schema);
      if (inner instanceof z.ZodArray) {
        expect(shape?.type, path).toBe('list');
        walk(inner.element as z.ZodType, shape?.member?.shape ?? '', `${path}[]`);
        return;
      }
      if (!(inner instanceof z.ZodObject)) return;
      expect(shape?.type, path).toBe('structure');
      for (const [camel, child] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
        const pascal = camel.charAt(0).toUpperCase() + camel.slice(1);
        const member = shape?.members?.[pascal];
        expect(member, `${path}.${pascal} in the model`).toBeDefined();
        expect(member?.locationName, `${path}.${pascal} wire name`).toBe(camel);
        checked.push(`${path}.${pascal}`);
        walk(child, member?.shape ?? '', `${path}.${pascal}`);
      }
    };

    walk(GuardDutyFindingSchema, 'Finding', 'Finding');
    expect(checked).toContain('Finding.Service.Action.PortProbeAction.PortProbeDetails[].LocalPortDetails.Port');
    expect(checked.length).toBeGreaterThan(50);
  });
});

function unwrap(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodOptional ? unwrap(schema.unwrap() as z.ZodType) : schema;
}
