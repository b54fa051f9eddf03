/**
 * The seccomp filter every bubblewrap sandbox loads (`bwrap --seccomp`): a classic BPF program,
 * written here instruction by instruction so no compiler or native module is needed.
 *
 * Why: the file system is mounted read-only, but connecting to a Unix socket file is not a write
 * the kernel refuses on a read-only mount, and a socket such as /var/run/docker.sock or a user's
 * ssh-agent would let a process act outside the sandbox. The filter refuses to create Unix domain
 * sockets (`socket(AF_UNIX, …)`, EPERM); `socketpair`, which only links processes of the sandbox,
 * still works. It also refuses `io_uring_setup`, since io_uring can open sockets without the
 * `socket` system call. System calls of a foreign architecture (x32, 32-bit compatibility mode) are
 * all refused, so they cannot go round the filter: 32-bit programs do not run inside.
 */

/** One instruction: `struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }`. */
interface Instruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

const LD_W_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const RET_K = 0x06; // BPF_RET | BPF_K

const RET_ALLOW = 0x7fff0000; // SECCOMP_RET_ALLOW
const RET_EPERM = 0x00050000 | 1; // SECCOMP_RET_ERRNO | EPERM

/** Offsets in `struct seccomp_data`. */
const NR = 0;
const ARCH = 4;
const ARG0_LOW = 16; // the low 32 bits of args[0], on a little-endian machine

const AF_UNIX = 1;
/** Syscalls with this bit set on x86-64 are the x32 ABI's. */
const X32_SYSCALL_BIT = 0x40000000;

/** The architectures the filter knows: the audit arch value and the numbers of the calls it refuses. */
const ARCHES: Partial<Record<NodeJS.Architecture, { audit: number; socket: number; ioUringSetup: number }>> = {
  x64: { audit: 0xc000003e, socket: 41, ioUringSetup: 425 },
  arm64: { audit: 0xc00000b7, socket: 198, ioUringSetup: 425 },
};

const load = (offset: number): Instruction => ({ code: LD_W_ABS, jt: 0, jf: 0, k: offset });
const ret = (value: number): Instruction => ({ code: RET_K, jt: 0, jf: 0, k: value });
/** A jump by index: `yes` and `no` are the indexes of the targets, `at` the jump's own index. */
const jump = (code: number, k: number, at: number, yes: number, no: number): Instruction => ({
  code,
  k,
  jt: yes - at - 1,
  jf: no - at - 1,
});

/**
 * The filter for `arch` as bytes for `bwrap --seccomp`, or null for an architecture it does not
 * know (the sandbox then runs without it and says so).
 */
export function unixSocketFilter(arch: NodeJS.Architecture): Uint8Array | null {
  const a = ARCHES[arch];
  if (a === undefined) return null;
  const x32 = arch === 'x64';
  // The checks of the call start at `at`, after the architecture (and, on x86-64, the x32) checks;
  // four instructions later come the two exits.
  const at = x32 ? 4 : 3;
  const allow = at + 4;
  const deny = at + 5;
  const program: Instruction[] = [load(ARCH), jump(JEQ_K, a.audit, 1, 2, deny), load(NR)];
  if (x32) program.push(jump(JGE_K, X32_SYSCALL_BIT, 3, deny, 4));
  program.push(
    jump(JEQ_K, a.ioUringSetup, at, deny, at + 1),
    jump(JEQ_K, a.socket, at + 1, at + 2, allow),
    load(ARG0_LOW),
    jump(JEQ_K, AF_UNIX, at + 3, deny, allow),
    ret(RET_ALLOW),
    ret(RET_EPERM),
  );
  const bytes = Buffer.alloc(program.length * 8);
  program.forEach((insn, i) => {
    bytes.writeUInt16LE(insn.code, i * 8);
    bytes.writeUInt8(insn.jt, i * 8 + 2);
    bytes.writeUInt8(insn.jf, i * 8 + 3);
    bytes.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return new Uint8Array(bytes);
}
