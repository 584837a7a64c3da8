// koffi declarations of the few libc calls Salamander needs (TAP devices, eventfds, poll), and
// their constants for Linux x86-64 / aarch64. Loaded lazily: only threads that touch a device
// or an eventfd pay for koffi. Every call is synchronous and returns the raw C result; read
// errno with errno() right after a call that returned -1.
//
// Notes on the declarations:
// - koffi has no ssize_t: read/write return `long` (LP64: 64-bit, same as ssize_t).
// - open, ioctl and fcntl are variadic in C. They are declared here with fixed trailing
//   arguments; on the Linux x86-64 and AArch64 ABIs integer and pointer arguments pass the same
//   way to variadic and fixed functions, and glibc's wrappers read them as such.
// - Buffers and typed arrays (also over SharedArrayBuffer) pass as pointers to their bytes,
//   honouring byteOffset; the callee must not keep them after the call.

import type * as KoffiNs from 'koffi';

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;

export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;

/** errno values (asm-generic). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  EMSGSIZE: 90,
  EBADFD: 77,
} as const;

const ERRNO_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Errno).map(([k, v]) => [v, k]));
export function errnoName(e: number): string {
  return ERRNO_NAMES[e] ?? `E${e}`;
}

/** `struct pollfd` is { int fd; short events; short revents; }: 8 bytes. */
export const POLLFD_BYTES = 8;

export interface Libc {
  open(path: string, flags: number, mode: number): number;
  close(fd: number): number;
  ioctl(fd: number, request: number, arg: Uint8Array | Int32Array): number;
  ioctlInt(fd: number, request: number, arg: number): number;
  read(fd: number, buf: Uint8Array, count: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
  poll(fds: Uint8Array, nfds: number, timeoutMs: number): number;
  eventfd(initval: number, flags: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
  errno(): number;
}

let libc: Libc | null = null;

/** The libc bindings (loads koffi on first use). Throws an Error with code ERR_FFI_UNAVAILABLE
 *  when koffi or libc cannot be loaded (not Linux, missing native module). */
export function getLibc(): Libc {
  if (libc) return libc;
  let koffi: typeof KoffiNs;
  let lib: KoffiNs.LibraryHandle;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    koffi = require('koffi');
    lib = koffi.load('libc.so.6');
  } catch (e) {
    const err = new Error(`libc FFI unavailable: ${(e as Error).message}`) as Error & { code: string };
    err.code = 'ERR_FFI_UNAVAILABLE';
    throw err;
  }
  const k = koffi;
  libc = {
    open: lib.func('int open(const char *path, int flags, int mode)'),
    close: lib.func('int close(int fd)'),
    ioctl: lib.func('int ioctl(int fd, unsigned long request, void *arg)'),
    ioctlInt: lib.func('ioctl', 'int', ['int', 'unsigned long', 'long']),
    read: lib.func('long read(int fd, void *buf, size_t count)'),
    write: lib.func('long write(int fd, const void *buf, size_t count)'),
    poll: lib.func('int poll(void *fds, unsigned long nfds, int timeout)'),
    eventfd: lib.func('int eventfd(unsigned int initval, int flags)'),
    fcntl: lib.func('int fcntl(int fd, int cmd, int arg)'),
    errno: () => k.errno(),
  };
  return libc;
}

/** Error raised by a failed system call, with Node-style `code` (e.g. "ENOENT") and `errno`. */
export class SysError extends Error {
  readonly code: string;
  constructor(
    readonly syscall: string,
    readonly errno: number,
    detail?: string,
  ) {
    super(`${syscall} failed: ${errnoName(errno)}${detail ? ` (${detail})` : ''}`);
    this.name = 'SysError';
    this.code = errnoName(errno);
  }
}

/** True when `fd` is an open descriptor of this process. */
export function fdIsOpen(fd: number): boolean {
  if (!Number.isInteger(fd) || fd < 0) return false;
  return getLibc().fcntl(fd, F_GETFD, 0) >= 0;
}

/** Sets O_NONBLOCK on `fd`. */
export function setNonBlocking(fd: number): void {
  const c = getLibc();
  const fl = c.fcntl(fd, F_GETFL, 0);
  if (fl < 0) throw new SysError('fcntl(F_GETFL)', c.errno());
  if ((fl & O_NONBLOCK) === 0 && c.fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) throw new SysError('fcntl(F_SETFL)', c.errno());
}
