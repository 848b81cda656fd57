// Loaded by an isolated construct's OpenCode server (as a plugin, before any
// tool runs): it marks the server's process not dumpable, so that the agent's
// commands, though run by the same user, cannot read the server's
// /proc/<pid>/environ (its password) or its memory. bun:ffi calls prctl
// (PR_SET_DUMPABLE = 4) in libc.
import { dlopen, FFIType } from "bun:ffi";

const libc = dlopen("libc.so.6", {
  prctl: {
    args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64],
    returns: FFIType.i32,
  },
});
if (libc.symbols.prctl(4, 0, 0, 0, 0) !== 0) {
  throw new Error("synthetic guard: prctl(PR_SET_DUMPABLE, 0) failed");
}
console.error("synthetic guard: the server is not dumpable");

export const SyntheticGuard = async () => ({});
