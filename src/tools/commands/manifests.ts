// `mygrpcadapter manifests`: regenerate operatorconfig/'s adapter and
// template resources from proto/.
import path from 'node:path';
import type { CommandModule } from 'yargs';

interface ManifestsArgs {
  root: string | undefined;
  out: string | undefined;
}

export async function manifests(args: ManifestsArgs): Promise<void> {
  const [{ generateManifests, writeManifests }, { projectRoot }] = await Promise.all([
    import('../manifests/generate.js'),
    import('../manifests/project.js'),
  ]);
  // Looked up only when this command runs: an installed image has no buf.yaml.
  const root = path.resolve(args.root ?? projectRoot());
  const out = path.resolve(args.out ?? path.join(root, 'operatorconfig'));
  const written = await writeManifests(out, await generateManifests(root));
  for (const file of written) process.stderr.write(`wrote ${path.relative(process.cwd(), file) || file}\n`);
}

export const manifestsCommand: CommandModule<object, ManifestsArgs> = {
  command: 'manifests',
  describe: 'generate the adapter and template resources in operatorconfig/ from proto/ (uses buf)',
  builder: (y) =>
    y
      .option('root', {
        type: 'string',
        describe: 'folder holding buf.yaml and proto/ (default: this package)',
      })
      .option('out', {
        type: 'string',
        describe: 'output folder (default: <root>/operatorconfig)',
      }),
  handler: manifests,
};
