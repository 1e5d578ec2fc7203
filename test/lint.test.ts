import { execFile } from 'node:child_process';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkKeys, jsonName } from '../src/opconfig/lint/keys.js';
import { lintLoaded, lintPaths } from '../src/opconfig/lint/lint.js';
import { candidates, ResourceIndex } from '../src/opconfig/lint/names.js';
import type { Finding } from '../src/opconfig/lint/findings.js';
import { loadResources, parseResources, type LoadResult } from '../src/opconfig/load.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const OPCONFIG = path.join(ROOT, 'operatorconfig');
const BIN = path.join(ROOT, 'dist/src/bin.js');
/** The generated adapter and templates and the attribute manifest. */
const BASE_FILES = ['attributes.yaml', 'mygrpcadapter.yaml', 'metric.yaml', 'authorization.yaml'].map((f) =>
  path.join(OPCONFIG, f),
);

/** The generated adapter + template resources: what every fixture is checked against. */
let base: LoadResult;
beforeAll(async () => {
  base = await loadResources(BASE_FILES);
  expect(base.problems).toEqual([]);
});

const HANDLER = `apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: { name: h1, namespace: istio-system }
spec:
  adapter: mygrpcadapter
  connection: { address: "127.0.0.1:8000" }
  params: { file_path: out.txt }
`;
const METRIC = `apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: { name: i1metric, namespace: istio-system }
spec:
  template: metric
  params:
    value: request.size | 0
    dimensions: { response_code: "200" }
`;
const CHECK = `apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: { name: icheck, namespace: istio-system }
spec:
  template: authorization
  params:
    subject:
      properties: { custom_token_header: 'request.headers["x-custom-token"] | ""' }
`;
const rule = (handler: string, ...instances: string[]): string => `apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: r1, namespace: istio-system }
spec:
  actions:
    - handler: ${handler}
      instances: [${instances.join(', ')}]
`;

/** Lints the base resources plus `docs` (YAML documents) given as one fixture file. */
function lintDocs(...docs: string[]): Finding[] {
  const fixture = parseResources('fixture.yaml', docs.join('---\n'));
  return lintLoaded({
    resources: [...base.resources, ...fixture.resources],
    problems: [...base.problems, ...fixture.problems],
  });
}

const brief = (fs: Finding[]): string[] => fs.map((f) => `${f.severity} ${f.resource} ${f.field}`);

describe('lint: the shipped operatorconfig/', () => {
  it('is clean', async () => {
    expect((await lintPaths([OPCONFIG])).findings).toEqual([]);
  });

  it('the CLI exits 0 and says so', async () => {
    // --data-dir as deploy/ starts the adapter: the sample writes /volume/out.txt.
    const { stdout } = await run(process.execPath, [BIN, 'lint', '--data-dir', '/volume', OPCONFIG]);
    expect(stdout).toMatch(/^\d+ resource\(s\) checked: 0 error\(s\), 0 warning\(s\)\n$/);
  });

  it('a valid fixture set gives no findings', () => {
    expect(lintDocs(HANDLER, METRIC, CHECK, rule('h1', 'i1metric', 'icheck'))).toEqual([]);
  });
});

describe('lint: handler params', () => {
  it('reports an unknown key with position and the known names', () => {
    const [f, ...rest] = lintDocs(HANDLER.replace('file_path', 'file_pth'));
    expect(rest).toEqual([]);
    expect(f).toMatchObject({
      severity: 'error',
      file: 'fixture.yaml',
      index: 0,
      resource: 'h1.handler.istio-system',
      field: 'spec.params.file_pth',
    });
    expect(f?.line).toBe(7); // the line of `params: { file_pth: ... }`
    expect(f?.message).toMatch(/unknown key "file_pth" for Params \(known: file_path, auth_key/);
  });

  it('accepts lowerCamel JSON names', () => {
    expect(lintDocs(HANDLER.replace('file_path: out.txt', 'filePath: out.txt, authKey: k, validUseCount: 3'))).toEqual(
      [],
    );
  });

  it('reports a mapping given to a scalar field', () => {
    expect(brief(lintDocs(HANDLER.replace('file_path: out.txt', 'file_path: { a: 1 }')))).toEqual([
      'error h1.handler.istio-system spec.params.file_path',
    ]);
  });
});

/** A handler whose params are one per line, from line 7 on. */
const handlerWith = (params: string): string => `apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: { name: h1, namespace: istio-system }
spec:
  adapter: mygrpcadapter
  connection: { address: "127.0.0.1:8000" }
  params:
    file_path: out.txt
    ${params}
`;

// What Mixer does with each value was seen with realmixer (see test/mixer-params.test.ts);
// what the adapter does is decided by its own decodeParams, which the linter runs.
const BAD_PARAMS: [string, string, RegExp][] = [
  [
    'format: yaml',
    'spec.params.format',
    /expected one of text, json \(or empty\), got "yaml"; the adapter answers INVALID_ARGUMENT/,
  ],
  ['sink: kafka', 'spec.params.sink', /expected one of .*got "kafka"; the adapter answers INVALID_ARGUMENT/],
  [
    'valid_duration: 10x',
    'spec.params.valid_duration',
    /expected a duration such as "30s", got "10x"; the adapter answers/,
  ],
  [
    'valid_duration: 10',
    'spec.params.valid_duration',
    /field 'valid_duration' is of type 'float64' instead of expected type 'string'; Mixer drops the whole handler/,
  ],
  [
    'valid_use_count: 3000000000',
    'spec.params.valid_use_count',
    /must not be negative, got -1294967296; the adapter answers INVALID_ARGUMENT/,
  ],
  [
    'valid_use_count: 2.5',
    'spec.params.valid_use_count',
    /field 'valid_use_count' is of type 'float64' instead of expected type 'int'; Mixer drops the whole handler/,
  ],
];

describe('lint: params Mixer or the adapter refuse', () => {
  it.each(BAD_PARAMS)('%s', (param, field, message) => {
    const fs = lintDocs(handlerWith(param));
    expect(fs).toHaveLength(1);
    expect(fs[0]).toMatchObject({ severity: 'error', file: 'fixture.yaml', line: 9, field });
    expect(fs[0]?.message).toMatch(message);
  });

  it('accepts what both accept: "0x10", 1e3, a quoted duration', () => {
    expect(lintDocs(handlerWith("valid_use_count: '0x10'\n    valid_duration: '30s'"))).toEqual([]);
    expect(lintDocs(handlerWith('valid_use_count: 1e3'))).toEqual([]);
  });
});

const metricWith = (value: string, dimension = '"200"'): string => `apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: { name: i1metric, namespace: istio-system }
spec:
  template: metric
  params:
    value: ${value}
    dimensions:
      response_code: ${dimension}
`;

describe("lint: instance expressions (the stand-in's type checker, against attributes.yaml)", () => {
  it.each([
    ['nosuch.attr', 'spec.params.value', 7, /unknown attribute nosuch\.attr/],
    ["'request.size =='", 'spec.params.value', 7, /unexpected end of expression/],
    [
      '\'request.size | "x"\'',
      'spec.params.value',
      7,
      /both sides of "\|" must have the same type, got INT64 and STRING/,
    ],
    ['request.headers', 'spec.params.value', 7, /is STRING_MAP, which cannot fill a Value/],
  ])('%s is an error with file and line', (value, field, line, message) => {
    const fs = lintDocs(metricWith(value));
    expect(fs).toHaveLength(1);
    expect(fs[0]).toMatchObject({ severity: 'error', file: 'fixture.yaml', line, field });
    expect(fs[0]?.message).toMatch(message);
    expect(fs[0]?.message).toMatch(/Mixer rejects the instance/);
  });

  it('reports every bad field of one instance, each on its own line', () => {
    const fs = lintDocs(metricWith('nosuch.attr', "'source.ip == 3'"));
    expect(fs.map((f) => [f.field, f.line])).toEqual([
      ['spec.params.dimensions.response_code', 9],
      ['spec.params.value', 7],
    ]);
    expect(fs[0]?.message).toMatch(/cannot compare IP_ADDRESS with INT64/);
  });

  it('accepts the functions and literals Mixer has', () => {
    expect(
      lintDocs(
        metricWith('\'timestamp("2015-01-02T15:04:05Z")\'', '\'email("a@b.c")\''),
        CHECK,
        HANDLER,
        rule('h1', 'i1metric', 'icheck'),
      ),
    ).toEqual([]);
  });

  it('warns (not errors) about what Mixer accepts but the stand-in cannot evaluate', () => {
    const fs = lintDocs(metricWith("'request.size > 0'"));
    expect(brief(fs)).toEqual(['warning i1metric.instance.istio-system spec.params.value']);
    expect(fs[0]?.message).toMatch(/Mixer accepts this, the stand-in cannot evaluate it/);
  });
});

describe('lint: nested messages', () => {
  const { root } = protobuf.parse(
    `
    syntax = "proto3";
    package t;
    message Inner { string some_value = 1; }
    message Outer {
      Inner inner = 1;
      repeated Inner items = 2;
      map<string, Inner> by_name = 3;
      map<string, string> tags = 4;
    }
  `,
    { keepCase: true },
  );
  const outer = root.lookupType('t.Outer');

  it('recurses into messages, repeated messages and map values', () => {
    const problems = checkKeys(
      {
        inner: { someValue: 'ok', nope: 1 },
        items: [{ some_value: 'ok' }, { bad: 2 }],
        byName: { a: { some_value: 'x' }, b: { worse: 3 } },
        tags: { anything: 'goes' },
      },
      outer,
      'spec.params',
    );
    expect(problems.map((p) => p.field)).toEqual([
      'spec.params.inner.nope',
      'spec.params.items[1].bad',
      'spec.params.byName.b.worse',
    ]);
  });

  it('computes JSON names like protoc', () => {
    expect(jsonName('file_path')).toBe('filePath');
    expect(jsonName('valid_use_count')).toBe('validUseCount');
    expect(jsonName('httpStatusCode')).toBe('httpStatusCode');
  });
});

describe('lint: instance params', () => {
  it('reports a field the template does not have', () => {
    const fs = lintDocs(METRIC.replace('dimensions:', 'dimension:'));
    expect(brief(fs)).toEqual(['error i1metric.instance.istio-system spec.params.dimension']);
    expect(fs[0]?.message).toMatch(/unknown key "dimension" for InstanceMsg/);
  });

  it('reports a mapping where an expression belongs', () => {
    expect(brief(lintDocs(METRIC.replace('{ response_code: "200" }', '{ response_code: { a: b } }')))).toEqual([
      'error i1metric.instance.istio-system spec.params.dimensions.response_code',
    ]);
  });

  it('reports a nested field of the authorization template', () => {
    expect(brief(lintDocs(CHECK.replace('properties:', 'propertiez:')))).toEqual([
      'error icheck.instance.istio-system spec.params.subject.propertiez',
    ]);
  });

  it('reports `name`, which Mixer fills in', () => {
    const fs = lintDocs(METRIC.replace('value: request.size | 0', 'value: request.size | 0\n    name: x'));
    expect(brief(fs)).toEqual(['error i1metric.instance.istio-system spec.params.name']);
    expect(fs[0]?.message).toMatch(/filled in by Mixer/);
  });

  it('reports a missing template', () => {
    expect(brief(lintDocs(METRIC.replace('template: metric', 'template: metrics')))).toEqual([
      'error i1metric.instance.istio-system spec.template',
    ]);
  });
});

describe('lint: rules', () => {
  it('resolves short, name.namespace, old name.kind and full names', () => {
    for (const h of ['h1', 'h1.istio-system', 'h1.handler', 'h1.handler.istio-system']) {
      expect(lintDocs(HANDLER, METRIC, rule(h, 'i1metric.istio-system'))).toEqual([]);
    }
  });

  it('reports a missing handler', () => {
    const fs = lintDocs(HANDLER, METRIC, rule('h2', 'i1metric'));
    expect(brief(fs)).toEqual(['error r1.rule.istio-system spec.actions[0].handler']);
    expect(fs[0]?.message).toBe('handler "h2" not found');
  });

  it('does not find a handler in another namespace', () => {
    expect(brief(lintDocs(HANDLER, METRIC, rule('h1.default', 'i1metric')))).toEqual([
      'error r1.rule.istio-system spec.actions[0].handler',
    ]);
  });

  it('reports a missing instance and a duplicate one', () => {
    expect(
      brief(lintDocs(HANDLER, METRIC, rule('h1', 'i2metric', 'i1metric', 'i1metric.instance.istio-system'))),
    ).toEqual([
      'error r1.rule.istio-system spec.actions[0].instances[0]',
      'error r1.rule.istio-system spec.actions[0].instances[2]',
    ]);
  });

  it('reports an instance whose template the adapter does not list', () => {
    const metricOnly = base.resources.find((r) => r.kind === 'adapter')!;
    const adapter2 = `apiVersion: config.istio.io/v1alpha2
kind: adapter
metadata: { name: metriconly, namespace: istio-system }
spec:
  session_based: false
  templates: [metric]
  config: ${String(metricOnly.spec.config)}
`;
    const fs = lintDocs(
      adapter2,
      HANDLER.replace('adapter: mygrpcadapter', 'adapter: metriconly'),
      CHECK,
      rule('h1', 'icheck'),
    );
    expect(brief(fs)).toEqual(['error r1.rule.istio-system spec.actions[0].instances[0]']);
    expect(fs[0]?.message).toMatch(
      /template authorization\.template\.istio-system, which adapter metriconly\.adapter\.istio-system does not list/,
    );
  });
});

describe('lint: adapter and connection', () => {
  it('reports session_based: true', () => {
    const adapter = base.resources.find((r) => r.kind === 'adapter')!;
    const doc = `apiVersion: config.istio.io/v1alpha2
kind: adapter
metadata: { name: sess, namespace: istio-system }
spec:
  session_based: true
  templates: [metric]
  config: ${String(adapter.spec.config)}
`;
    const fs = lintDocs(doc);
    expect(brief(fs)).toEqual(['error sess.adapter.istio-system spec.session_based']);
  });

  it('reports an adapter config without Params and a missing template', () => {
    const tmpl = base.resources.find((r) => r.kind === 'template')!;
    const doc = `apiVersion: config.istio.io/v1alpha2
kind: adapter
metadata: { name: bad, namespace: istio-system }
spec:
  templates: [metric, quota]
  config: ${String(tmpl.spec.descriptor)}
`;
    expect(brief(lintDocs(doc))).toEqual([
      'error bad.adapter.istio-system spec.config',
      'error bad.adapter.istio-system spec.templates[1]',
    ]);
  });

  it('reports a missing connection.address', () => {
    expect(brief(lintDocs(HANDLER.replace('connection: { address: "127.0.0.1:8000" }', 'connection: {}')))).toEqual([
      'error h1.handler.istio-system spec.connection.address',
    ]);
    expect(brief(lintDocs(HANDLER.replace('  connection: { address: "127.0.0.1:8000" }\n', '')))).toEqual([
      'error h1.handler.istio-system spec.connection.address',
    ]);
  });

  it('reports a connection.timeout that is not a duration', () => {
    const withTimeout = (t: string): string[] =>
      brief(lintDocs(HANDLER.replace('address: "127.0.0.1:8000"', `address: "127.0.0.1:8000", timeout: ${t}`)));
    expect(withTimeout('5s')).toEqual([]);
    expect(withTimeout('"1m30s"')).toEqual([]);
    expect(withTimeout('500ms')).toEqual([]);
    expect(withTimeout('5')).toEqual(['error h1.handler.istio-system spec.connection.timeout']);
    expect(withTimeout('"5 seconds"')).toEqual(['error h1.handler.istio-system spec.connection.timeout']);
  });

  it('reports unknown spec and connection keys', () => {
    expect(brief(lintDocs(HANDLER.replace('adapter: mygrpcadapter', 'adapter: mygrpcadapter\n  paramz: {}')))).toEqual([
      'error h1.handler.istio-system spec.paramz',
    ]);
  });
});

describe('lint: attribute manifests', () => {
  it('reports an unknown value type and an unknown key', () => {
    const doc = `apiVersion: config.istio.io/v1alpha2
kind: attributemanifest
metadata: { name: attrs, namespace: istio-system }
spec:
  attributes:
    request.size: { valueType: INT64 }
    request.time: { value_type: TIMESTAMP, description: when }
    request.bad: { valueType: INTEGER }
    request.typo: { valuetype: STRING }
`;
    expect(brief(lintDocs(doc))).toEqual([
      'error attrs.attributemanifest.istio-system spec.attributes.request.bad.valueType',
      'error attrs.attributemanifest.istio-system spec.attributes.request.typo.valuetype',
      'error attrs.attributemanifest.istio-system spec.attributes.request.typo.valueType',
    ]);
  });
});

describe('lint: names', () => {
  it('lists the candidates Mixer tries', () => {
    expect(candidates('h1', 'handler', 'ns')).toEqual(['h1.handler.ns']);
    expect(candidates('h1.other', 'handler', 'ns')).toEqual(['h1.other.ns', 'h1.handler.other']);
    expect(candidates('h1.handler.other', 'handler', 'ns')).toEqual(['h1.handler.other']);
  });

  it('does not resolve a name to a resource of another kind', () => {
    const index = new ResourceIndex(base.resources);
    expect(index.resolve('metric', 'template', 'istio-system')?.kind).toBe('template');
    expect(index.resolve('metric.template.istio-system', 'handler', 'istio-system')).toBeUndefined();
  });
});

describe('lint: CLI', () => {
  it('says it found nothing to check in an empty folder, and exits 1', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lint-empty-'));
    try {
      const r = await run(process.execPath, [BIN, 'lint', dir]).then(
        () => expect.unreachable('lint should fail'),
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `nothing to check: no handler, instance, rule, adapter, template or attributemanifest in ${dir}`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 with positions, and --json gives the same findings', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lint-'));
    try {
      await writeFile(path.join(dir, 'bad.yaml'), `${HANDLER}---\n${rule('nohandler', 'i1metric')}`);
      await writeFile(path.join(dir, 'broken.yaml'), 'kind: [unclosed\n');
      const args = [BIN, 'lint', path.join(OPCONFIG, 'mygrpcadapter.yaml'), path.join(OPCONFIG, 'metric.yaml'), dir];
      const human = await run(process.execPath, args).then(
        () => expect.unreachable('lint should fail'),
        (err: { code: number; stdout: string }) => err,
      );
      expect(human.code).toBe(1);
      expect(human.stdout).toContain(
        `${path.join(dir, 'bad.yaml')}:14 (document 2) error r1.rule.istio-system spec.actions[0].handler`,
      );
      expect(human.stdout).toContain(path.join(dir, 'broken.yaml'));
      const json = await run(process.execPath, [...args, '--json']).then(
        () => expect.unreachable('lint should fail'),
        (err: { code: number; stdout: string }) => err,
      );
      expect(json.code).toBe(1);
      const parsed = JSON.parse(json.stdout) as { errors: number; findings: Finding[] };
      expect(parsed.errors).toBe(parsed.findings.length);
      expect(parsed.findings.map((f) => f.field)).toContain('spec.actions[0].handler');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Lints the base resources plus each file's YAML documents, parsed under its own name. */
function lintFiles(files: Record<string, string>, options: Parameters<typeof lintLoaded>[1] = {}): Finding[] {
  const parsed = Object.entries(files).map(([file, text]) => parseResources(file, text));
  return lintLoaded(
    {
      resources: [...base.resources, ...parsed.flatMap((p) => p.resources)],
      problems: [...base.problems, ...parsed.flatMap((p) => p.problems)],
    },
    options,
  );
}

describe('lint: a name defined twice', () => {
  it('warns on the second definition, naming both file:line', () => {
    const fs = lintFiles({ 'a.yaml': HANDLER, 'b.yaml': `${METRIC}---\n${HANDLER}` });
    expect(fs).toHaveLength(1);
    expect(fs[0]).toMatchObject({
      severity: 'warning',
      file: 'b.yaml',
      line: 12, // metadata of the second document
      resource: 'h1.handler.istio-system',
      field: 'metadata.name',
    });
    expect(fs[0]?.message).toBe(
      'h1.handler.istio-system is defined twice, at a.yaml:3 (document 1) and b.yaml:12 (document 2); ' +
        'Mixer keeps only one of them (the last applied) and the other is silently lost',
    );
  });

  it('names every earlier definition when there are more than two', () => {
    const fs = lintFiles({ 'a.yaml': HANDLER, 'b.yaml': HANDLER, 'c.yaml': HANDLER });
    expect(fs.map((f) => `${f.file} ${f.severity}`)).toEqual(['b.yaml warning', 'c.yaml warning']);
    expect(fs[1]?.message).toMatch(
      /^h1\.handler\.istio-system is defined 3 times, at a\.yaml:3 \(document 1\), b\.yaml:3 \(document 1\) and c\.yaml:3 \(document 1\);/,
    );
  });

  it('the same name in another kind or namespace is another resource', () => {
    const otherNamespace = HANDLER.replace('namespace: istio-system', 'namespace: default').replace(
      'adapter: mygrpcadapter',
      'adapter: mygrpcadapter.istio-system',
    );
    const instanceH1 = METRIC.replace('name: i1metric', 'name: h1');
    expect(lintFiles({ 'a.yaml': HANDLER, 'b.yaml': `${otherNamespace}---\n${instanceH1}` })).toEqual([]);
  });

  it('a file given twice (a folder and a file in it) is read once', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lint-twice-'));
    try {
      await writeFile(path.join(dir, 'h.yaml'), HANDLER);
      const { findings } = await lintPaths([...BASE_FILES, dir, path.join(dir, 'h.yaml'), `${dir}/./h.yaml`]);
      expect(findings).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the CLI prints the warning with both positions and exits 0', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lint-dup-'));
    try {
      await writeFile(path.join(dir, 'one.yaml'), HANDLER);
      await writeFile(path.join(dir, 'two.yaml'), HANDLER);
      const { stdout } = await run(process.execPath, [BIN, 'lint', ...BASE_FILES, dir], { cwd: dir });
      const [one, two] = ['one.yaml', 'two.yaml'].map((f) => path.join(dir, f));
      expect(stdout).toContain(
        `${two}:3 (document 1) warning h1.handler.istio-system metadata.name: h1.handler.istio-system is defined twice, ` +
          `at ${one}:3 (document 1) and ${two}:3 (document 1);`,
      );
      expect(stdout).toMatch(/checked: 0 error\(s\), 1 warning\(s\)\n$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('lint: file_path and the data dir (lint --data-dir, as the adapter has it)', () => {
  const withPath = (filePath: string, sink = ''): string =>
    HANDLER.replace('file_path: out.txt', `file_path: '${filePath}'${sink === '' ? '' : `, sink: ${sink}`}`);
  const options = { dataDir: '/srv/mygrpcadapter' };

  it('warns about an absolute file_path outside it, naming --data-dir', () => {
    const fs = lintDocs(withPath('/volume/out.txt'));
    expect(fs).toEqual([]); // without a data dir to compare with, nothing to say
    const [f, ...rest] = lintFiles({ 'h.yaml': withPath('/volume/out.txt') }, options);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ severity: 'warning', file: 'h.yaml', line: 7, field: 'spec.params.file_path' });
    expect(f?.message).toBe(
      '"/volume/out.txt" is outside the data dir /srv/mygrpcadapter; the adapter answers INVALID_ARGUMENT to every call ' +
        'unless started with a --data-dir that holds it (give lint the same --data-dir DIR)',
    );
  });

  it('warns about a relative file_path that climbs out, whatever the data dir', () => {
    for (const p of ['../out.txt', 'logs/../../out.txt']) {
      const fs = lintFiles({ 'h.yaml': withPath(p) }, options);
      expect(fs.map((f) => f.message)).toEqual([
        `"${p}" climbs out (..) of the data dir /srv/mygrpcadapter; the adapter answers INVALID_ARGUMENT to every call ` +
          'whatever its --data-dir (give a path that stays inside it)',
      ]);
    }
  });

  it('accepts paths inside it, and file_path under a sink that does not use it', () => {
    for (const p of ['out.txt', 'logs/../out.txt', '/srv/mygrpcadapter/out.txt', '/srv/mygrpcadapter/a/b.txt']) {
      expect(lintFiles({ 'h.yaml': withPath(p) }, options), p).toEqual([]);
    }
    expect(lintFiles({ 'h.yaml': withPath('/volume/out.txt', 'stdout') }, options)).toEqual([]);
    expect(lintFiles({ 'h.yaml': withPath('/srv/mygrpcadapter-other/out.txt') }, options)).toHaveLength(1);
  });

  it('the CLI compares with the current folder by default, and with --data-dir when given', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lint-datadir-'));
    try {
      await writeFile(path.join(dir, 'h.yaml'), withPath('/volume/out.txt'));
      const files = [...BASE_FILES, path.join(dir, 'h.yaml')];
      const byDefault = await run(process.execPath, [BIN, 'lint', ...files], { cwd: dir });
      expect(byDefault.stdout).toContain(
        `${path.join(dir, 'h.yaml')}:7 (document 1) warning h1.handler.istio-system spec.params.file_path: ` +
          `"/volume/out.txt" is outside the data dir ${await realpath(dir)};`,
      );
      expect(byDefault.stdout).toMatch(/0 error\(s\), 1 warning\(s\)\n$/);
      const given = await run(process.execPath, [BIN, 'lint', '--data-dir', '/volume', ...files], { cwd: dir });
      expect(given.stdout).toMatch(/0 error\(s\), 0 warning\(s\)\n$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
