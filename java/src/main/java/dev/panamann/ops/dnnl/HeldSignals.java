package dev.panamann.ops.dnnl;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Holds the calling thread's asynchronous signals during a native call that must not be
 * interrupted: oneDNN 2.x's generated sgemm kernels point the stack pointer into the heap while
 * they run (oneDNN issue 4845, fixed in 3.11), and a signal handled then (a profiler's sample,
 * any handler) pushes its frame into the heap. Held signals stay pending and are handled when
 * the call returns. The synchronous ones (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP) are never
 * held: a fault inside the call is reported as before.
 *
 * <p>{@link #hold} and {@link #release} are one {@code pthread_sigmask} call each (x86-64 Linux
 * glibc; {@code sigset_t} is 128 bytes, signal s at bit s - 1).
 */
final class HeldSignals {
    private static final int SIG_BLOCK = 0, SIG_SETMASK = 2;
    private static final long SET_BYTES = 128;
    private static final MethodHandle SIGMASK = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("pthread_sigmask").orElseThrow(() -> new UnsatisfiedLinkError("pthread_sigmask not found")),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    /** Every signal but the synchronous ones; kept for the life of the class (GC-owned arena). */
    private static final MemorySegment ASYNC = asyncSignals();
    /** Per thread: the mask {@link #hold} saved (GC-owned, freed with the thread's map entry). */
    private static final ThreadLocal<MemorySegment> SAVED = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(SET_BYTES, 8));

    private HeldSignals() {}

    private static MemorySegment asyncSignals() {
        MemorySegment set = Arena.ofAuto().allocate(SET_BYTES, 8);
        set.fill((byte) 0xff);
        for (int s : new int[] {4, 5, 7, 8, 11}) { // SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV
            long word = (s - 1) / 64 * 8L;
            set.set(ValueLayout.JAVA_LONG, word, set.get(ValueLayout.JAVA_LONG, word) & ~(1L << ((s - 1) % 64)));
        }
        return set;
    }

    /** Holds the calling thread's asynchronous signals; returns the mask to give {@link #release}. */
    static MemorySegment hold() {
        MemorySegment saved = SAVED.get();
        call(SIG_BLOCK, ASYNC, saved);
        return saved;
    }

    /** Restores the mask {@link #hold} returned on this thread; pending signals are handled now. */
    static void release(MemorySegment saved) {
        call(SIG_SETMASK, saved, MemorySegment.NULL);
    }

    private static void call(int how, MemorySegment set, MemorySegment old) {
        int rc;
        try {
            rc = (int) SIGMASK.invokeExact(how, set, old);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("pthread_sigmask failed", t);
        }
        if (rc != 0) throw new IllegalStateException("pthread_sigmask returned " + rc);
    }
}
