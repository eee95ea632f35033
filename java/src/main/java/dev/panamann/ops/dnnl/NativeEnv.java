package dev.panamann.ops.dnnl;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process environment as native libraries see it: libc {@code getenv}/{@code setenv}
 * through the FFM API ({@link System#getenv} is a copy taken when the JVM started and does not
 * reach native code). Used to configure OpenBLAS and libgomp before they load, which read their
 * settings from the environment once, when they initialize.
 */
final class NativeEnv {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle GETENV = LINKER.downcallHandle(LINKER.defaultLookup().find("getenv").orElseThrow(() -> new UnsatisfiedLinkError("getenv not found")),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    private static final MethodHandle SETENV = LINKER.downcallHandle(LINKER.defaultLookup().find("setenv").orElseThrow(() -> new UnsatisfiedLinkError("setenv not found")),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private NativeEnv() {}

    /** The variable's value in the native environment, or null when unset or empty. */
    static String get(String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = (MemorySegment) GETENV.invokeExact(a.allocateFrom(name));
            if (p.equals(MemorySegment.NULL)) return null;
            String v = p.reinterpret(Long.MAX_VALUE).getString(0);
            return v.isEmpty() ? null : v;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("getenv failed", t);
        }
    }

    /** Sets the variable unless it is set already (never overrides); true when it now has {@code value}. */
    static boolean setIfUnset(String name, String value) {
        try (Arena a = Arena.ofConfined()) {
            int rc = (int) SETENV.invokeExact(a.allocateFrom(name), a.allocateFrom(value), 0);
            return rc == 0 && value.equals(get(name));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("setenv failed", t);
        }
    }

    /** True when a file whose name contains {@code soname} is mapped into this process. */
    static boolean libraryMapped(String soname) {
        try {
            return Files.readString(Path.of("/proc/self/maps")).contains(soname);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
