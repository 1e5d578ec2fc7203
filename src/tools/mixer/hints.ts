// One plain line after mixc's output when handlers could not be reached from
// here. The usual cause is config written for the cluster (in-cluster DNS
// names) run on a developer's machine, and grpc's own words ("Name
// resolution failed") do not say what to change on the command line.
import path from 'node:path';
import type { CallReport } from './dispatch.js';
import type { Outcome } from './output.js';

export interface HintContext {
  /** The package folder whose operatorconfig/ was read because --config was not given; undefined when it was. */
  defaultConfigRoot: string | undefined;
  /** --address, when given: every call went there, not to the handlers' own addresses. */
  address: string | undefined;
  /** Where the command runs: suggested paths are relative to it when they lie below it. */
  cwd: string;
}

/** The address a local adapter is started on in the README and examples/local/. */
const LOCAL_ADDRESS = '127.0.0.1:8000';

/** grpc-js's words when a name does not resolve (resolver-dns.ts). */
const UNRESOLVED = 'Name resolution failed';

/** `target` as typed from `cwd`: relative below it, else absolute. */
function shown(target: string, cwd: string, folder = false): string {
  const rel = path.relative(cwd, target);
  const below = rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
  const text = below ? rel : target;
  return folder ? `${text}${path.sep}` : text;
}

/** The --config arguments of the loopback sample: the package's manifest and adapter, and examples/local/. */
export function localConfigArgs(root: string, cwd: string): string {
  return [
    shown(path.join(root, 'operatorconfig', 'attributes.yaml'), cwd),
    shown(path.join(root, 'operatorconfig', 'mygrpcadapter.yaml'), cwd),
    shown(path.join(root, 'examples', 'local'), cwd, true),
  ].join(' ');
}

/** The line to print on stderr after `outcomes`, or undefined when there is nothing to suggest. */
export function dialHint(outcomes: readonly Outcome[], ctx: HintContext): string | undefined {
  // Calls to an --address the user chose fail for other reasons (nothing listening there).
  if (ctx.address !== undefined) return undefined;
  const unreachable = outcomes
    .flatMap((o) => ('calls' in o ? o.calls : []))
    .filter((c) => c.codeName === 'UNAVAILABLE');
  if (unreachable.length === 0) return undefined;
  if (ctx.defaultConfigRoot !== undefined) {
    return (
      `mygrpcadapter mixer: without --config this reads ${shown(path.join(ctx.defaultConfigRoot, 'operatorconfig'), ctx.cwd, true)}, ` +
      `whose handlers dial in-cluster names; for an adapter on this machine use ` +
      `--config ${localConfigArgs(ctx.defaultConfigRoot, ctx.cwd)} --address ${LOCAL_ADDRESS} (your adapter's host:port)`
    );
  }
  const unresolved: CallReport | undefined = unreachable.find((c) => c.details.startsWith(UNRESOLVED));
  if (unresolved === undefined) return undefined;
  return (
    `mygrpcadapter mixer: handler ${unresolved.handler} dials ${unresolved.address}, a name that does not resolve here; ` +
    `for an adapter on this machine add --address ${LOCAL_ADDRESS} (your adapter's host:port)`
  );
}
