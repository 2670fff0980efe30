import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRollout, parseRolloutSource, RolloutFileError } from './rollout-loader.js';

const example = fileURLToPath(new URL('../examples/edge-rollout.yaml', import.meta.url));

const WAF = `name: waf
type: WAFV2
resourceTypes: [alb]
regions: [eu-west-1]
rules:
  defaultAction: ALLOW
`;

function problemsOf(text: string, policyFiles: Record<string, string> = { 'waf.yaml': WAF }) {
  try {
    parseRolloutSource({ file: 'rollout.yaml', text, policyFiles });
  } catch (error) {
    if (error instanceof RolloutFileError) return error.problems.map((p) => `${p.file}:${p.line ?? '?'} ${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('loadRollout', () => {
  it('loads the example with its policy files, defaults filled in', async () => {
    const loaded = await loadRollout(example);
    expect(loaded.rollout.name).toBe('edge-protection');
    expect(loaded.policies.map((policy) => [policy.spec.name, policy.origin])).toEqual([
      ['edge-waf-baseline', 'policies/regional-waf.yaml'],
      ['edge-shield', 'policies/regional-shield.yaml'],
    ]);
    expect(loaded.rollout.waves[0]).toMatchObject({ mode: 'audit', soakTime: 600_000, gates: { timeout: 3_600_000 } });
    expect(Object.keys(loaded.source.policyFiles)).toEqual(['policies/regional-waf.yaml', 'policies/regional-shield.yaml']);
  });

  it('names a missing rollout file in one sentence', async () => {
    await expect(loadRollout('/nonexistent/rollout.yaml')).rejects.toThrow('The rollout file /nonexistent/rollout.yaml does not exist; check the path.');
  });
});

describe('parseRolloutSource', () => {
  const base = `kind: Rollout
name: r1
policies: [waf.yaml]
waves:
  - name: canary
    targets: { ous: [Root/Canary] }
    mode: audit
`;

  it('accepts a minimal rollout', () => {
    expect(problemsOf(base)).toEqual([]);
  });

  it('points at the line and path of each bad field in the rollout', () => {
    const text = `kind: Rollout
name: r1
policies: [waf.yaml]
waves:
  - name: canary
    targets: { ous: [Root/Canary] }
    mode: enforce
    soakTime: 10 minutes
    gates:
      maxNonCompliantAccounts: -1
      haltOn: [X]
`;
    expect(problemsOf(text)).toEqual([
      'rollout.yaml:7 waves[0].mode: must be "audit" or "remediate", not "enforce"',
      'rollout.yaml:8 waves[0].soakTime: a duration looks like 30s, 10m or 1h30m',
      'rollout.yaml:10 waves[0].gates.maxNonCompliantAccounts: must be at least 0, not -1',
      'rollout.yaml:11 waves[0].gates.haltOn: unknown field "haltOn"',
    ]);
  });

  it('points into the policy file for a bad referenced spec, and into the rollout for an inline one', () => {
    expect(problemsOf(base, { 'waf.yaml': WAF.replace('defaultAction: ALLOW', 'defaultAction: DENY') })).toEqual([
      'waf.yaml:6 rules.defaultAction: must be "ALLOW" or "BLOCK", not "DENY"',
    ]);
    const inline = base.replace('policies: [waf.yaml]', 'policies:\n  - spec:\n      name: s\n      type: SHIELD_ADVANCED\n      resourceTypes: [eip, vpc]\n      regions: [eu-west-1]');
    expect(problemsOf(inline)).toEqual([
      expect.stringMatching(/^rollout\.yaml:7 policies\[0\]\.spec\.resourceTypes\[1\]: resource type "vpc" cannot be protected by a SHIELD_ADVANCED policy/),
    ]);
  });

  it('reports a policy file that was not read, duplicate waves and an audit copy name that collides', () => {
    const text = `kind: Rollout
name: r1
policies: [waf.yaml, other.yaml]
auditSuffix: -x
waves:
  - { name: a, targets: { all: true }, mode: audit }
  - { name: a, targets: { all: true }, mode: remediate }
`;
    expect(problemsOf(text, { 'waf.yaml': WAF })).toEqual([
      'rollout.yaml:7 waves[1].name: wave a is named twice',
    ]);
    const fixed = text.replace('  - { name: a, targets: { all: true }, mode: remediate }', '  - { name: b, targets: { all: true }, mode: remediate }');
    expect(problemsOf(fixed, { 'waf.yaml': WAF })).toEqual(['rollout.yaml:3 policies[1]: policy file other.yaml was not read; check the path']);
    expect(problemsOf(fixed, { 'waf.yaml': WAF, 'other.yaml': WAF.replace('name: waf', 'name: waf-x') })).toEqual([
      'rollout.yaml:4 auditSuffix: the audit copy of waf would take the name of policy waf-x; choose another auditSuffix',
    ]);
  });

  it('refuses what is not YAML, with its line', () => {
    expect(problemsOf('kind: Rollout\nname: [unclosed\n')[0]).toMatch(/^rollout\.yaml:\d+ : not valid YAML or JSON/);
  });
});
