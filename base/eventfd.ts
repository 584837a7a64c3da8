// Linux eventfds through koffi: the bell's second wake-up path for sleepers blocked in poll()
// (the TAP NIC waits on its device fd and on its role bell's eventfd at once). Loading this
// module installs the eventfd writer into base/bell.ts, so Bell.ring() on a bell that carries
// an eventfd wakes such a sleeper. The supervisor creates the eventfd (createEventfd) for roles
// that ask for one and puts it in RoleAssignment.bellEventfd; every thread of the process can
// write it (fds belong to the process).

import { setEventfdWriter } from './bell';
import { getLibc, EFD_NONBLOCK, EFD_CLOEXEC, Errno, SysError } from './ffi';

const one = new Uint8Array(new BigUint64Array([1n]).buffer);
const scratch = new Uint8Array(8);
const scratch64 = new BigUint64Array(scratch.buffer);

/** A new non-blocking, close-on-exec eventfd with count 0. */
export function createEventfd(): number {
  const c = getLibc();
  const fd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw new SysError('eventfd', c.errno());
  return fd;
}

/** Adds 1 to the eventfd's counter (wakes a poll() on it). Never blocks: a saturated counter
 *  (EAGAIN) already means "readable". */
export function eventfdWrite(fd: number): void {
  getLibc().write(fd, one, 8);
}

/** Reads and resets the counter. Returns the count (0 when it was already 0). */
export function eventfdDrain(fd: number): number {
  const c = getLibc();
  const n = c.read(fd, scratch, 8);
  if (n !== 8) {
    const e = c.errno();
    if (n < 0 && e !== Errno.EAGAIN && e !== Errno.EINTR) throw new SysError('read(eventfd)', e);
    return 0;
  }
  return Number(scratch64[0]);
}

export function closeEventfd(fd: number): void {
  if (fd >= 0) getLibc().close(fd);
}

setEventfdWriter(eventfdWrite);
