/**
 * A second host for fault tests: a network namespace joined to this one by a veth pair, with the
 * controls the tests need, each a real kernel mechanism (this kernel has no netem qdisc):
 * - loss: an nftables rule in the namespace, `numgen random mod 100 < N drop`, on input, output
 *   or both;
 * - a cut link: every packet dropped both ways (connections stall, nothing is reset);
 * - a half-open link: an nftables rule dropping one direction only;
 * - delay and jitter: not here — a relay in the test process (relay.ts) delays what crosses it.
 * Processes run in the namespace through `ip netns exec`. Everything made is removed by
 * destroy(), and by a process 'exit' hook if a test run dies first. Needs root (CI runs as root).
 */
import { type ChildProcess, execFileSync, type SpawnOptions, spawn } from 'node:child_process';

let made = 0;
const live = new Set<RemoteHost>();
process.on('exit', () => {
  for (const host of live) host.destroySync();
});

const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'], encoding: 'utf8' });

/** Why namespaces cannot be made here, or undefined when they can. */
export function namespacesUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root (CI runs the suite as root)';
  for (const tool of ['ip', 'nft']) {
    try {
      sh('which', [tool]);
    } catch {
      return `${tool} is missing (Debian packages iproute2, nftables; npm test's setup installs them)`;
    }
  }
  return undefined;
}

export class RemoteHost {
  /** The namespace's address on the veth pair, and ours. */
  readonly address: string;
  readonly localAddress: string;
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  private constructor(
    readonly ns: string,
    private readonly hostVeth: string,
    private readonly nsVeth: string,
    subnet: number,
  ) {
    this.address = `10.231.${subnet}.2`;
    this.localAddress = `10.231.${subnet}.1`;
  }

  /** Makes a namespace and its veth pair, addresses up; throws when the kernel refuses. */
  static create(): RemoteHost {
    const id = `${process.pid % 100000}x${made++}`;
    const subnet = (process.pid + made * 7) % 250;
    const host = new RemoteHost(`ocf-${id}`, `ocf${id}h`, `ocf${id}n`, subnet);
    live.add(host);
    try {
      sh('ip', ['netns', 'add', host.ns]);
      sh('ip', ['link', 'add', host.hostVeth, 'type', 'veth', 'peer', 'name', host.nsVeth]);
      sh('ip', ['link', 'set', host.nsVeth, 'netns', host.ns]);
      sh('ip', ['addr', 'add', `${host.localAddress}/24`, 'dev', host.hostVeth]);
      sh('ip', ['link', 'set', host.hostVeth, 'up']);
      host.inNs('ip', ['addr', 'add', `${host.address}/24`, 'dev', host.nsVeth]);
      host.inNs('ip', ['link', 'set', host.nsVeth, 'up']);
      host.inNs('ip', ['link', 'set', 'lo', 'up']);
      host.inNs('nft', ['add', 'table', 'inet', 'faults']);
      host.inNs('nft', [
        'add',
        'chain',
        'inet',
        'faults',
        'input',
        '{ type filter hook input priority 0; policy accept; }',
      ]);
      host.inNs('nft', [
        'add',
        'chain',
        'inet',
        'faults',
        'output',
        '{ type filter hook output priority 0; policy accept; }',
      ]);
    } catch (err) {
      host.destroySync();
      throw err;
    }
    return host;
  }

  /** Runs a command in the namespace to completion; returns its stdout. */
  inNs(cmd: string, args: string[], input?: string): string {
    return sh('ip', ['netns', 'exec', this.ns, cmd, ...args], input);
  }

  /** Starts a long-running process in the namespace (killed by destroy()). */
  spawn(cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      ...options,
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Drops `percent` % of the packets entering and leaving the namespace (each direction alike). */
  loss(percent: number): void {
    this.clearRules();
    for (const chain of ['input', 'output'])
      this.inNs('nft', [
        'add',
        'rule',
        'inet',
        'faults',
        chain,
        'numgen',
        'random',
        'mod',
        '100',
        '<',
        String(percent),
        'drop',
      ]);
  }

  /** Drops every packet in one direction: 'in' (to the namespace) or 'out' (from it). */
  dropDirection(direction: 'in' | 'out'): void {
    this.clearRules();
    this.inNs('nft', ['add', 'rule', 'inet', 'faults', direction === 'in' ? 'input' : 'output', 'drop']);
  }

  /** Removes every loss and drop rule. */
  clearRules(): void {
    this.inNs('nft', ['flush', 'chain', 'inet', 'faults', 'input']);
    this.inNs('nft', ['flush', 'chain', 'inet', 'faults', 'output']);
  }

  /**
   * Cuts the link (nothing crosses either way; open connections stall, nothing is reset) or
   * restores it. Done with nftables drops rather than `ip link set down`: a link taken down takes
   * its route with it, and packets for the namespace would leave by the default route instead.
   */
  link(up: boolean): void {
    this.clearRules();
    if (up) return;
    for (const chain of ['input', 'output'])
      this.inNs('nft', ['add', 'rule', 'inet', 'faults', chain, 'drop']);
  }

  /** Kills what runs in the namespace and removes the namespace and the veth pair. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const child of this.children) child.kill('SIGKILL');
    try {
      sh('ip', ['netns', 'del', this.ns]);
    } catch {
      // never made
    }
    try {
      sh('ip', ['link', 'del', this.hostVeth]);
    } catch {
      // went with the namespace
    }
  }
}

/** The namespaces and veth links this process has made and not removed (for the leak check). */
export function leftovers(): string[] {
  const ns = sh('ip', ['netns', 'list'])
    .split('\n')
    .filter((l) => l.startsWith(`ocf-${process.pid % 100000}x`));
  const links = sh('ip', ['-o', 'link'])
    .split('\n')
    .filter((l) => l.includes(`ocf${process.pid % 100000}x`));
  return [...ns, ...links];
}
