// The developer tools' commands: the Mixer stand-in, the linter, the manifest
// generator and replay. cli.ts imports this module only when one of them (or
// --help) is asked for, so a serving adapter loads none of the tools.
import type { CommandModule } from 'yargs';
import { lintCommand } from './lint.js';
import { manifestsCommand } from './manifests.js';
import { mixerCommand } from './mixer.js';
import { replayCommand } from './replay.js';

// yargs' CommandModule is invariant in its argument types; the CLI only registers them.
export const toolCommands = [manifestsCommand, lintCommand, mixerCommand, replayCommand] as unknown as CommandModule[];
