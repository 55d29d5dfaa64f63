/**
 * deploy/: the Helm chart rendered with a small Go-template renderer (the subset the
 * chart's templates use: fields, `$`, pipelines with quote/toYaml/toJson/indent/nindent/
 * default, if/else, range, with, whitespace trimming), and the manifests checked as YAML:
 * the objects, ports, volumes and securityContext the DaemonSet needs, the cnr
 * configuration and CNI config it installs, and the Multus example against cnr-cni's
 * own config parser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import { parseNetConf } from '../../src/cni/config.js';
import { loadData } from '../../src/controller/config/notation-data.js';
import { validateTree } from '../../src/controller/config/validate.js';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const chartDir = join(repo, 'deploy', 'helm', 'cnr');

// ---------------------------------------------------------------------------------------
// A minimal Go text/template renderer

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; expr: string }
  | { kind: 'if'; expr: string; then: Node[]; else: Node[] }
  | { kind: 'range'; expr: string; key?: string; value?: string; body: Node[] }
  | { kind: 'with'; expr: string; body: Node[] };

function tokenize(src: string): { text: string; action?: string }[] {
  const out: { text: string; action?: string }[] = [];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    let text = src.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1] === '-') text = text.replace(/\s+$/, '');
    out.push({ text });
    out.push({ text: '', action: m[2]! });
    trimNext = m[3] === '-';
    last = re.lastIndex;
  }
  let tail = src.slice(last);
  if (trimNext) tail = tail.replace(/^\s+/, '');
  out.push({ text: tail });
  return out;
}

function parseTemplate(src: string): Node[] {
  const toks = tokenize(src);
  let i = 0;
  function block(): { nodes: Node[]; end: string } {
    const nodes: Node[] = [];
    while (i < toks.length) {
      const t = toks[i++]!;
      if (t.action === undefined) {
        if (t.text) nodes.push({ kind: 'text', text: t.text });
        continue;
      }
      const a = t.action;
      if (a.startsWith('/*')) continue;
      if (a === 'end' || a === 'else') return { nodes, end: a };
      const m = /^(if|range|with)\s+([\s\S]+)$/.exec(a);
      if (!m) {
        nodes.push({ kind: 'action', expr: a });
        continue;
      }
      const body = block();
      if (m[1] === 'if') {
        let els: Node[] = [];
        if (body.end === 'else') els = block().nodes;
        nodes.push({ kind: 'if', expr: m[2]!, then: body.nodes, else: els });
      } else if (m[1] === 'range') {
        const r = /^\$(\w+)\s*,\s*\$(\w+)\s*:=\s*(.+)$/.exec(m[2]!);
        nodes.push(r ? { kind: 'range', key: r[1]!, value: r[2]!, expr: r[3]!, body: body.nodes } : { kind: 'range', expr: m[2]!, body: body.nodes });
      } else nodes.push({ kind: 'with', expr: m[2]!, body: body.nodes });
    }
    return { nodes, end: 'eof' };
  }
  return block().nodes;
}

interface Scope {
  dot: unknown;
  root: unknown;
  vars: Record<string, unknown>;
}

function field(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function splitArgs(s: string): string[] {
  return s.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}

function term(t: string, s: Scope): unknown {
  if (t.startsWith('"')) return JSON.parse(t) as string;
  if (/^-?\d+$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  if (t === '.') return s.dot;
  if (t.startsWith('$')) {
    const [name, ...rest] = t.slice(1).split('.');
    return field(name === '' ? s.root : s.vars[name!], rest.filter(Boolean));
  }
  if (t.startsWith('.')) return field(s.dot, t.slice(1).split('.'));
  throw new Error(`template: unknown term '${t}'`);
}

function toYaml(v: unknown): string {
  return stringify(v).replace(/\n$/, '');
}

function indent(n: number, text: string): string {
  return text
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}

const FUNCS: Record<string, (args: unknown[]) => unknown> = {
  quote: ([v]) => JSON.stringify(v === undefined || v === null ? '' : String(v)),
  toYaml: ([v]) => toYaml(v),
  toJson: ([v]) => JSON.stringify(v),
  indent: ([n, text]) => indent(n as number, String(text)),
  nindent: ([n, text]) => `\n${indent(n as number, String(text))}`,
  default: ([d, v]) => (v === undefined || v === null || v === '' ? d : v),
  or: (args) => args.find((a) => truthy(a)) ?? args.at(-1),
};

function evalExpr(expr: string, s: Scope): unknown {
  let value: unknown;
  let first = true;
  for (const stage of expr.split('|').map((x) => x.trim())) {
    const [head, ...rest] = splitArgs(stage);
    if (FUNCS[head!]) {
      const args = rest.map((a) => term(a, s));
      if (!first) args.push(value);
      value = FUNCS[head!]!(args);
    } else {
      if (!first || rest.length) throw new Error(`template: unknown function '${head}'`);
      value = term(head!, s);
    }
    first = false;
  }
  return value;
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

function render(nodes: Node[], s: Scope): string {
  let out = '';
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out += n.text;
        break;
      case 'action': {
        const v = evalExpr(n.expr, s);
        out += v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
        break;
      }
      case 'if':
        out += render(truthy(evalExpr(n.expr, s)) ? n.then : n.else, s);
        break;
      case 'with': {
        const v = evalExpr(n.expr, s);
        if (truthy(v)) out += render(n.body, { ...s, dot: v });
        break;
      }
      case 'range': {
        const v = evalExpr(n.expr, s);
        const entries: [unknown, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : v && typeof v === 'object' ? Object.entries(v).sort() : [];
        for (const [k, x] of entries) {
          const vars = { ...s.vars };
          if (n.key) vars[n.key] = k;
          if (n.value) vars[n.value] = x;
          out += render(n.body, { ...s, dot: x, vars });
        }
        break;
      }
    }
  }
  return out;
}

function renderChart(values: Record<string, unknown> = {}): { file: string; docs: Record<string, any>[] }[] {
  const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  const defaults = parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  const ctx = {
    Values: { ...defaults, ...values },
    Release: { Name: 'cnr', Namespace: 'kube-system', Service: 'Helm' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  };
  const tdir = join(chartDir, 'templates');
  return readdirSync(tdir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const text = render(parseTemplate(readFileSync(join(tdir, f), 'utf8')), { dot: ctx, root: ctx, vars: {} });
      const docs = parseAllDocuments(text).map((d) => {
        assert.deepEqual(d.errors, [], `${f}: ${d.errors.join('; ')}\n${text}`);
        return d.toJS() as Record<string, any>;
      });
      return { file: f, docs: docs.filter((d) => d !== null) };
    });
}

function objects(values?: Record<string, unknown>): Map<string, Record<string, any>> {
  const m = new Map<string, Record<string, any>>();
  for (const r of renderChart(values)) for (const d of r.docs) m.set(`${d.kind}/${d.metadata.name}`, d);
  return m;
}

// ---------------------------------------------------------------------------------------

test('the renderer handles the template subset the chart uses', () => {
  const t = parseTemplate('a{{- if .x }} x={{ .x | quote }}{{ else }} none{{ end -}}\n{{ range $k, $v := .m }}[{{ $k }}={{ $v }}]{{ end }}{{ with .l }}{{ toYaml . | nindent 2 }}{{ end }}');
  assert.equal(render(t, { dot: { x: 'y', m: { b: 2, a: 1 }, l: ['p'] }, root: {}, vars: {} }), 'a x="y"[a=1][b=2]\n  - p');
  assert.equal(render(t, { dot: { m: {} }, root: {}, vars: {} }), 'a none');
});

test('the chart renders a DaemonSet with controller, vRouter and the CNI installer', () => {
  const objs = objects();
  assert.deepEqual([...objs.keys()].sort(), ['ConfigMap/cnr-config', 'DaemonSet/cnr', 'ServiceAccount/cnr']);
  const ds = objs.get('DaemonSet/cnr')!;
  assert.equal(ds.apiVersion, 'apps/v1');
  assert.equal(ds.metadata.namespace, 'kube-system');
  const spec = ds.spec.template.spec;
  assert.deepEqual(ds.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'cnr', 'app.kubernetes.io/instance': 'cnr' });
  for (const [k, v] of Object.entries(ds.spec.selector.matchLabels)) assert.equal(ds.spec.template.metadata.labels[k], v);
  assert.equal(spec.hostNetwork, true);
  assert.deepEqual(spec.tolerations, [{ operator: 'Exists' }]);
  assert.deepEqual(spec.containers.map((c: any) => c.name), ['controller', 'vrouter']);
  assert.deepEqual(spec.initContainers.map((c: any) => c.name), ['install-cni']);
  const [controller, vrouter] = spec.containers;
  const ports = (c: any) => Object.fromEntries(c.ports.map((p: any) => [p.name, p.containerPort]));
  assert.deepEqual(ports(controller), { grpc: 50051, rest: 8080, netconf: 830, ssh: 2222 });
  assert.deepEqual(ports(vrouter), { agent: 50052, introspect: 8085, health: 9091, metrics: 8070 });
  // probes look at a port the container declares
  for (const c of spec.containers) {
    const declared = c.ports.map((p: any) => p.containerPort);
    for (const probe of [c.readinessProbe, c.livenessProbe]) assert.ok(declared.includes(probe.tcpSocket.port), `${c.name} probe port`);
  }
  assert.deepEqual(controller.args.slice(0, 5), ['controller', '--config', '/etc/cnr/cnr.yaml', '--state-dir', '/var/lib/cnr']);
  // only options `cnr vrouter` takes (it exits 1 on any other); buffers sized for the 9000-byte fabric
  assert.deepEqual(vrouter.args, ['vrouter', '--max-mtu', '9000']);
  assert.equal(vrouter.image, 'ghcr.io/cnr-project/cnr:0.1.0');
  // least privilege: no privileged containers, only the capabilities each one needs
  for (const c of [...spec.containers, ...spec.initContainers]) {
    assert.notEqual(c.securityContext.privileged, true, c.name);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false, c.name);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true, c.name);
  }
  assert.deepEqual(vrouter.securityContext.capabilities, { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'BPF'] });
  // the CNI service in the controller makes veths (NET_ADMIN) and enters pod namespaces (SYS_ADMIN)
  assert.deepEqual(controller.securityContext.capabilities.add, ['NET_BIND_SERVICE', 'NET_ADMIN', 'SYS_ADMIN']);
  assert.equal(vrouter.resources.requests.cpu, '500m');
  // volumes: the state dir is shared by both containers (mgmt.sock is how cnr-cni reaches
  // the controller) and is a host path, so the plugin on the host finds it
  const vols = Object.fromEntries(spec.volumes.map((v: any) => [v.name, v]));
  assert.deepEqual(vols.state.hostPath, { path: '/var/lib/cnr', type: 'DirectoryOrCreate' });
  assert.deepEqual(vols['dev-net-tun'].hostPath, { path: '/dev/net/tun', type: 'CharDevice' });
  assert.equal(vols['cni-bin'].hostPath.path, '/opt/cni/bin');
  assert.equal(vols['cni-conf'].hostPath.path, '/etc/cni/net.d');
  assert.equal(vols.config.configMap.name, 'cnr-config');
  const mounts = (c: any) => Object.fromEntries(c.volumeMounts.map((m: any) => [m.name, m.mountPath]));
  assert.equal(mounts(controller).state, '/var/lib/cnr');
  // the CNI service works on the host paths a runtime names, at the same paths
  assert.equal(mounts(controller)['cni-bin'], '/opt/cni/bin');
  assert.equal(mounts(controller)['cni-data'], '/var/lib/cni');
  assert.equal(vols['cni-data'].hostPath.path, '/var/lib/cni');
  assert.equal(mounts(controller).netns, '/var/run/netns');
  assert.equal(vols.netns.hostPath.path, '/var/run/netns');
  assert.equal(controller.volumeMounts.find((m: any) => m.name === 'netns').mountPropagation, 'HostToContainer');
  // CRI-O's network namespaces (/run/netns) too, and the memif pods' socket directories in both containers
  assert.equal(mounts(controller)['netns-crio'], '/run/netns');
  assert.equal(vols['netns-crio'].hostPath.path, '/run/netns');
  assert.equal(controller.volumeMounts.find((m: any) => m.name === 'netns-crio').mountPropagation, 'HostToContainer');
  assert.equal(mounts(controller).memif, '/run/cnr/memif');
  assert.equal(mounts(vrouter).memif, '/run/cnr/memif');
  assert.deepEqual(vols.memif.hostPath, { path: '/run/cnr/memif', type: 'DirectoryOrCreate' });
  assert.equal(mounts(vrouter).state, '/var/lib/cnr');
  assert.equal(mounts(vrouter)['dev-net-tun'], '/dev/net/tun');
  for (const c of [...spec.containers, ...spec.initContainers]) {
    for (const m of c.volumeMounts) assert.ok(vols[m.name], `${c.name} mounts undeclared volume ${m.name}`);
  }
  const init = spec.initContainers[0];
  assert.deepEqual(init.command, ['/opt/cnr/deploy/install-cni.sh']);
  assert.deepEqual(mounts(init), { 'cni-bin': '/host/cni/bin', 'cni-lib': '/host/cni/cnr', 'cni-conf': '/host/cni/net.d', config: '/etc/cnr' });
  const env = Object.fromEntries(init.env.map((e: any) => [e.name, e.value]));
  assert.equal(env.CNI_BIN_DIR, '/host/cni/bin');
  assert.equal(env.CNR_HOST_LIB_DIR, '/opt/cni/cnr');
  assert.equal(env.CNR_CNI_SHIM, 'bash');
});

test('the ConfigMap holds the configuration tree (fabric, VRFs, values) and a CNI config cnr-cni accepts', () => {
  const cm = objects().get('ConfigMap/cnr-config')!;
  const tree = parseYaml(cm.data['cnr.yaml']) as Record<string, any>;
  assert.deepEqual(tree.interfaces, { eth1: { mtu: 9000, unit: { '0': { family: { inet: { address: { '10.0.0.1/31': {} } } } } } } });
  assert.deepEqual(tree['routing-instances'], { blue: { 'instance-type': 'vrf', 'route-distinguisher': '10.255.0.1:1', 'vrf-target': 'target:65000:1' } });
  assert.equal(tree.system['host-name'], 'cnr-node');
  assert.equal(tree['routing-options']['autonomous-system'], 65001);
  const list = JSON.parse(cm.data['90-cnr.conflist']) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  assert.equal(list.name, 'cnr-blue');
  assert.equal(list.plugins[0]!.type, 'cnr-cni');
  // what a runtime hands the plugin: the list's name and version injected into the plugin config
  const conf = parseNetConf(JSON.stringify({ ...list.plugins[0], name: list.name, cniVersion: list.cniVersion }));
  assert.equal(conf.instanceName, 'blue');
  assert.equal(conf.ipamType, 'host-local');
});

test('values change what is rendered: no fabric, more VRFs, extra args, node selector', () => {
  const objs = objects({
    fabric: { interfaces: [] },
    vrfs: [{ name: 'red' }, { name: 'green', vrfTarget: 'target:65000:2' }],
    controller: { extraArgs: ['--log-level', 'debug'], resources: {} },
    nodeSelector: { 'cnr.io/router': 'true' },
  });
  const tree = parseYaml(objs.get('ConfigMap/cnr-config')!.data['cnr.yaml']) as Record<string, any>;
  assert.equal(tree.interfaces, undefined);
  assert.deepEqual(tree['routing-instances'], { red: { 'instance-type': 'vrf' }, green: { 'instance-type': 'vrf', 'vrf-target': 'target:65000:2' } });
  const spec = objs.get('DaemonSet/cnr')!.spec.template.spec;
  assert.deepEqual(spec.containers[0].args.slice(-2), ['--log-level', 'debug']);
  assert.deepEqual(spec.nodeSelector, { 'cnr.io/router': 'true' });
});

test('the L2 values example renders bridge domains, IRBs, a trunk and a bridgeDomain CNI config the controller and cnr-cni accept', () => {
  const read = (f: string) => parseYaml(readFileSync(join(chartDir, f), 'utf8')) as Record<string, any>;
  const l2 = read('values-l2.yaml');
  // helm merges values files deeply; the renderer here merges the top level only
  const cm = objects({ ...l2, cni: { ...read('values.yaml').cni, ...l2.cni } }).get('ConfigMap/cnr-config')!;
  const tree = loadData(cm.data['cnr.yaml'], 'yaml') as Record<string, any>;
  assert.deepEqual(validateTree(tree, tree), []);
  assert.deepEqual(tree['bridge-domains'], { bd100: { 'vlan-id': 100, 'routing-interface': 'irb.100' }, bd200: { 'vlan-id': 200 } });
  assert.deepEqual(Object.keys(tree.interfaces.irb.unit), ['100']);
  assert.deepEqual(Object.keys(tree.interfaces.irb.unit['100'].family), ['inet', 'inet6']);
  assert.equal(tree.interfaces.eth2.unit['0'].family.bridge['interface-mode'], 'trunk');
  assert.ok(JSON.stringify(tree['routing-instances'].blue).includes('irb.100'), JSON.stringify(tree['routing-instances']));
  const list = JSON.parse(cm.data['90-cnr.conflist']) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  const conf = parseNetConf(JSON.stringify({ ...list.plugins[0], name: list.name, cniVersion: list.cniVersion }));
  assert.deepEqual([conf.bridgeDomain, conf.vlanId, conf.instanceName, conf.ipamType], ['bd100', 100, '', 'host-local']);
  // the default values still render no L2 at all
  const plain = parseYaml(objects().get('ConfigMap/cnr-config')!.data['cnr.yaml']) as Record<string, any>;
  assert.equal(plain['bridge-domains'], undefined);
  assert.equal(plain.interfaces.irb, undefined);
});

test('the Multus NetworkAttachmentDefinition carries a conflist whose cnr-cni entry is valid', () => {
  const docs = parseAllDocuments(readFileSync(join(repo, 'deploy', 'multus', 'network-attachment-definition.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const nad = docs.find((d) => d.kind === 'NetworkAttachmentDefinition')!;
  assert.equal(nad.apiVersion, 'k8s.cni.cncf.io/v1');
  const list = JSON.parse(nad.spec.config) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  assert.equal(list.name, nad.metadata.name);
  assert.deepEqual(list.plugins.map((p) => p.type), ['cnr-cni', 'tuning']);
  const conf = parseNetConf(JSON.stringify({ ...list.plugins[0], name: list.name, cniVersion: list.cniVersion }));
  assert.equal(conf.vrfTarget, 'target:65000:1');
  const pod = docs.find((d) => d.kind === 'Pod')!;
  assert.equal(pod.metadata.annotations['k8s.v1.cni.cncf.io/networks'], nad.metadata.name);
});

test('the image recipe builds the plugin and ships the installer the chart runs', () => {
  const cf = readFileSync(join(repo, 'deploy', 'Containerfile'), 'utf8');
  assert.match(cf, /^FROM .*node:20/m);
  assert.match(cf, /npx tsc -p \./);
  assert.match(cf, /COPY deploy\/install-cni\.sh \.\/deploy\/install-cni\.sh/);
  assert.match(cf, /WORKDIR \/opt\/cnr/);
  // the CNI service pings a new pod's gateway from inside the pod (nsenter, ping) before ADD answers
  assert.match(cf, /apt-get install [^\n]*\biputils-ping\b[^\n]*\butil-linux\b/);
  const inst = join(repo, 'deploy', 'install-cni.sh');
  assert.ok((statSync(inst).mode & 0o111) !== 0, 'install-cni.sh is executable');
  assert.match(readFileSync(inst, 'utf8'), /bin\/cnr-cni/);
});

test('the installer puts a runnable cnr-cni shim and the network config on the host, and upgrades by a symlink swap', () => {
  const t = mkdtempSync(join(tmpdir(), 'cnr-install-'));
  try {
    // an image tree: the compiled repository, its node_modules by reference
    const home = join(t, 'image');
    mkdirSync(home);
    for (const d of ['dist', 'node_modules', 'bin', 'package.json']) symlinkSync(join(repo, d), join(home, d));
    const etc = join(t, 'etc');
    mkdirSync(etc);
    writeFileSync(join(etc, '90-cnr.conflist'), '{"cniVersion":"1.0.0","name":"x","plugins":[]}');
    const env = {
      PATH: process.env.PATH,
      CNI_BIN_DIR: join(t, 'bin'),
      CNI_CONF_DIR: join(t, 'net.d'),
      CNR_LIB_DIR: join(t, 'lib'),
      CNR_HOST_LIB_DIR: join(t, 'lib'),
      CNR_CONFIG_DIR: etc,
      CNR_HOME: home,
    };
    for (let i = 0; i < 3; i++) execFileSync(join(repo, 'deploy', 'install-cni.sh'), { env, encoding: 'utf8' });
    const releases = readdirSync(join(t, 'lib')).filter((f) => f.startsWith('rel.'));
    assert.equal(releases.length, 2, 'the current release and the one before');
    assert.ok(releases.includes(readlinkSync(join(t, 'lib', 'current'))));
    assert.deepEqual(readdirSync(join(t, 'net.d')), ['90-cnr.conflist']);
    // the bash shim, its fallback pointed at the installed release's node and Node plugin
    const shim = readFileSync(join(t, 'bin', 'cnr-cni'), 'utf8');
    assert.match(shim, /^#!\/bin\/bash\n/);
    assert.ok(shim.includes(`node_main=(${join(t, 'lib')}/current/node ${join(t, 'lib')}/current/bin/cnr-cni-node)`), shim);
    // no service under the (absent) state dir: the shim falls back to the installed Node plugin
    const conf = JSON.stringify({ cniVersion: '0.4.0', stateDir: join(t, 'no-cnr') });
    const out = execFileSync(join(t, 'bin', 'cnr-cni'), { env: { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' }, input: conf, encoding: 'utf8' });
    assert.equal(JSON.parse(out).cniVersion, '0.4.0');
    // a host without bash: CNR_CNI_SHIM=node installs a /bin/sh shim that always runs Node
    execFileSync(join(repo, 'deploy', 'install-cni.sh'), { env: { ...env, CNR_CNI_SHIM: 'node' }, encoding: 'utf8' });
    assert.match(readFileSync(join(t, 'bin', 'cnr-cni'), 'utf8'), /^#!\/bin\/sh\n[\s\S]*current\/bin\/cnr-cni-node/);
    const out2 = execFileSync(join(t, 'bin', 'cnr-cni'), { env: { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' }, input: conf, encoding: 'utf8' });
    assert.equal(JSON.parse(out2).cniVersion, '0.4.0');
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
});
