/**
 * The variables a generated script reads that it never sets: a typo, or a setting the generator
 * forgot to render, shows up here instead of as an empty bucket name on a fleet.
 */

/** Bash: every `$NAME` / `${NAME...}` read, less what the script assigns and the shell's own. */
export function undefinedBashVariables(script: string, inputs: readonly string[]): string[] {
  const code = script
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    // Single-quoted text is not expanded.
    .replace(/'[^'\n]*'/g, "''");
  const used = new Set([...code.matchAll(/\$\{?#?([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]!));
  const assigned = new Set<string>([
    ...[...code.matchAll(/(?:^|[\s;(])(?:local |readonly |export )?([A-Za-z_][A-Za-z0-9_]*)\+?=/gm)].map((match) => match[1]!),
    ...[...code.matchAll(/\blocal ([A-Za-z_][A-Za-z0-9_ ]*)/g)].flatMap((match) => match[1]!.split(/\s+/)),
    ...[...code.matchAll(/\bfor \(\(\s*([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]!),
    ...[...code.matchAll(/\bfor ([A-Za-z_][A-Za-z0-9_]*) in\b/g)].map((match) => match[1]!),
    ...[...code.matchAll(/\bread -r ([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]!),
    ...[...code.matchAll(/\bprintf -v ([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]!),
    ...[...code.matchAll(/: "\$\{([A-Za-z_][A-Za-z0-9_]*):=/g)].map((match) => match[1]!),
  ]);
  return [...used].filter((name) => !assigned.has(name) && !inputs.includes(name)).sort();
}

const POWERSHELL_AUTOMATIC = new Set(['_', 'true', 'false', 'null', 'env', 'pscommandpath', 'erroractionpreference', 'lastexitcode', 'script']);

/** PowerShell (names are case-insensitive): every `$name` read, less parameters, assignments and automatic variables. */
export function undefinedPowerShellVariables(script: string): string[] {
  const code = script
    .split(/\r?\n/)
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/'[^'\n]*'/g, "''");
  const used = new Set([...code.matchAll(/\$(?:script:)?([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]!.toLowerCase()));
  const assigned = new Set<string>([
    ...[...code.matchAll(/\$(?:script:)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:=|\+\+|\+=)(?!=)/g)].map((match) => match[1]!.toLowerCase()),
    // Parameters: `param(... $Action)` and `function Name([type]$a, [type]$b)`.
    ...[...code.matchAll(/\[[A-Za-z.[\]]+\]\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]!.toLowerCase()),
    ...[...code.matchAll(/\bforeach \(\$([A-Za-z_][A-Za-z0-9_]*) in\b/g)].map((match) => match[1]!.toLowerCase()),
  ]);
  return [...used].filter((name) => !assigned.has(name) && !POWERSHELL_AUTOMATIC.has(name)).sort();
}
