package dev.panamann.ops.dnnl;

import dev.panamann.ops.Denormals;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Set;
import java.util.TreeSet;

/**
 * Gives the calling thread's floating-point environment to every thread of its OpenMP team.
 *
 * <p>libgomp's {@code GOMP_parallel(fn, data, num_threads, flags)} runs {@code fn(data)} on each
 * thread of a team; with {@code fn = fesetenv} and {@code data} a copy of the caller's
 * {@code fenv_t}, every thread installs the caller's MXCSR, with no Java upcall (an upcall would
 * not do: HotSpot restores MXCSR when an upcall returns).
 */
final class OmpTeam {
    private static MethodHandle gompParallel;

    private OmpTeam() {}

    /**
     * Makes (or grows) the calling thread's team to {@code threads} threads and installs the
     * caller's environment on each; with flushing off, the team's threads only start (each runs
     * {@code getpid}), so that they exist from this call on and inherit the caller's signal mask
     * now ({@code NativeOps.beforeNativeCall}).
     */
    static void install(int threads) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] envAndSetter = Denormals.currentEnvironment(arena);
            MethodHandle parallel = handle();
            if (envAndSetter == null) {
                MemorySegment getpid = Linker.nativeLinker().defaultLookup().find("getpid")
                        .orElseThrow(() -> new UnsatisfiedLinkError("getpid not found"));
                parallel.invokeExact(getpid, MemorySegment.NULL, threads, 0);
                return;
            }
            parallel.invokeExact(envAndSetter[1], envAndSetter[0], threads, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("GOMP_parallel failed", t);
        }
    }

    /**
     * The MXCSR values the threads of the calling thread's team report, over {@code rounds}
     * parallel regions of {@code threads} threads (each thread writes its value into one shared
     * {@code fenv_t}; with enough rounds every thread's value shows up). For tests.
     */
    static Set<Integer> teamMxcsr(int threads, int rounds) {
        Set<Integer> seen = new TreeSet<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment env = arena.allocate(32, 16);
            MemorySegment fegetenv = Linker.nativeLinker().defaultLookup().find("fegetenv").orElseThrow(() -> new UnsatisfiedLinkError("fegetenv not found"));
            MethodHandle parallel = handle();
            for (int i = 0; i < rounds; i++) {
                parallel.invokeExact(fegetenv, env, threads, 0);
                seen.add(env.get(ValueLayout.JAVA_INT, 28) & ~0x3F); // without the sticky status flags
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("GOMP_parallel failed", t);
        }
        return seen;
    }

    private static synchronized MethodHandle handle() {
        if (gompParallel == null) {
            NativeLibraries.load();
            MemorySegment fn = SymbolLookup.loaderLookup().find("GOMP_parallel")
                    .orElseThrow(() -> new UnsatisfiedLinkError("GOMP_parallel not found in libgomp.so.1"));
            gompParallel = Linker.nativeLinker().downcallHandle(fn, FunctionDescriptor.ofVoid(
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        }
        return gompParallel;
    }
}
