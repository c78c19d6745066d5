/** The version `npm run release` cuts (support/release.ts): pure, so a unit test covers it. */
const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/**
 * The version a release cuts from `current`: `kind` bumps it (semver: a bump zeroes the parts
 * after it), an exact `x.y.z` must be above it. Pre-release versions are not used by aof2 and are
 * refused rather than guessed at.
 */
export function nextVersion(current: string, kind: string): string {
  const from = parse(current, 'the current version (package.json)');
  let next: [number, number, number];
  if (kind === 'major') next = [from[0] + 1, 0, 0];
  else if (kind === 'minor') next = [from[0], from[1] + 1, 0];
  else if (kind === 'patch') next = [from[0], from[1], from[2] + 1];
  else {
    next = parse(kind, 'the version asked for');
    const order = next[0] - from[0] || next[1] - from[1] || next[2] - from[2];
    if (order <= 0) throw new Error(`the version asked for, ${kind}, is not above the current version ${current}`);
  }
  return next.join('.');
}

function parse(version: string, what: string): [number, number, number] {
  const m = VERSION.exec(version);
  if (m === null) throw new Error(`${what} must be major.minor.patch (no pre-release), got "${version}"; or pass patch, minor or major`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}
