package dev.panamann.ops;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import java.util.Optional;

/**
 * Flush-to-zero (FTZ) and denormals-are-zero (DAZ) for the threads that compute.
 *
 * <p>Subnormal floats (magnitude below 2<sup>-126</sup>) appear in trained weights and in
 * optimizer state; Intel cores take a microcode assist, roughly 100 times the cost of a normal
 * operation, for every subnormal operand or result, and a training run slows down by an order of
 * magnitude once a third of a weight matrix has become subnormal. With FTZ and DAZ set in a
 * thread's SSE control register (MXCSR bits {@code 0x8000} and {@code 0x0040}) the CPU treats
 * subnormal inputs as zero and writes zero instead of a subnormal result, at full speed. This is
 * what PyTorch's {@code torch.set_flush_denormal(True)} does.
 *
 * <p>On by default for both backends; turned off with {@code -Dpanamann.flushDenormals=false}
 * or {@code PANAMANN_FLUSH_DENORMALS=false}. The backends call {@link #applyToCurrentThread()}
 * on every thread that computes: the thread that creates a backend, every thread that calls into
 * one (once per thread), the Java backend's worker threads; the native backend also sets the
 * OpenMP threads of each calling thread. MXCSR is per thread, so nothing else in the process
 * changes.
 *
 * <p>What it changes for Java code on such a thread: float and double arithmetic (interpreted
 * and JIT-compiled alike, HotSpot does not restore MXCSR after a foreign-function downcall)
 * returns 0 where IEEE 754 gives a subnormal, and reads subnormal operands as 0: e.g.
 * {@code Float.MIN_NORMAL * 0.5f} is {@code 0f} instead of {@code 5.877472E-39f}. Values of
 * normal magnitude are unaffected. Constants folded by {@code javac} or the JIT compiler are
 * computed without it. Code entered through an FFM upcall runs with the standard MXCSR (HotSpot
 * sets it on entry and restores the caller's on return), and threads started from Java begin
 * with the standard MXCSR whatever their parent had.
 *
 * <p>Implemented with libc's {@code fegetenv}/{@code fesetenv} through the FFM API, using the
 * x86-64 {@code fenv_t} layout of glibc and musl (32 bytes, {@code __mxcsr} at byte 28). On any
 * other platform (aarch64, other operating systems) this class does nothing and
 * {@link #supported()} is false: aarch64 has its own flush-to-zero bit (FPCR.FZ), not set here.
 */
public final class Denormals {
    /** MXCSR flush-to-zero (bit 15) and denormals-are-zero (bit 6). */
    public static final int FTZ_DAZ = 0x8040;
    /** Size of the x86-64 {@code fenv_t} and the offset of its {@code __mxcsr} field. */
    static final int FENV_SIZE = 32, MXCSR_OFFSET = 28;

    private static final String SETTING = Backends.setting("panamann.flushDenormals", "PANAMANN_FLUSH_DENORMALS", "true");
    /** The parsed setting, or null when it is not a boolean ({@link #enabled()} then throws). */
    private static final Boolean ENABLED = parseOrNull(SETTING);
    private static final MethodHandle FEGETENV, FESETENV;
    private static final MemorySegment FESETENV_ADDRESS;
    private static final String UNSUPPORTED;
    private static final ThreadLocal<boolean[]> APPLIED = ThreadLocal.withInitial(() -> new boolean[1]);

    static {
        MethodHandle get = null, set = null;
        MemorySegment setAddress = MemorySegment.NULL;
        String why = null;
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (!arch.equals("amd64") && !arch.equals("x86_64")) {
            why = "not x86-64 (os.arch " + arch + ")";
        } else if (!os.contains("linux")) {
            why = "not Linux (os.name " + os + "): the fenv_t layout is only known for glibc and musl";
        } else {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                Optional<MemorySegment> g = libc.find("fegetenv"), s = libc.find("fesetenv");
                if (g.isEmpty() || s.isEmpty()) {
                    why = "fegetenv/fesetenv not found in the C library";
                } else {
                    FunctionDescriptor fd = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS);
                    get = linker.downcallHandle(g.get(), fd);
                    set = linker.downcallHandle(s.get(), fd);
                    setAddress = s.get();
                    int mx = readMxcsr(get);
                    // Java threads run with all floating-point exceptions masked (bits 7-12):
                    // anything else at byte 28 means the layout is not the one assumed here.
                    if ((mx & 0xFFFF0000) != 0 || (mx & 0x1F80) != 0x1F80) {
                        why = String.format("unexpected fenv_t layout (value 0x%x where MXCSR should be)", mx);
                    }
                }
            } catch (Throwable t) {
                why = "foreign function access failed: " + t;
            }
        }
        UNSUPPORTED = why;
        FEGETENV = why == null ? get : null;
        FESETENV = why == null ? set : null;
        FESETENV_ADDRESS = why == null ? setAddress : MemorySegment.NULL;
    }

    private Denormals() {}

    /** The setting {@code panamann.flushDenormals} / {@code PANAMANN_FLUSH_DENORMALS} (default true). */
    public static boolean enabled() {
        if (ENABLED == null) parseSetting(SETTING);
        return ENABLED;
    }

    /** True on x86-64 Linux, where this class can set MXCSR. */
    public static boolean supported() { return UNSUPPORTED == null; }

    /** Why {@link #supported()} is false, or null. */
    public static String unsupportedReason() { return UNSUPPORTED; }

    /** True when the setting is on and the platform supported: what the backends apply. */
    public static boolean active() { return enabled() && UNSUPPORTED == null; }

    /**
     * Sets FTZ and DAZ on the calling thread when {@link #active()}; once per thread, later calls
     * cost a thread-local read. Every backend calls this on the threads it computes on; call it
     * yourself on a thread of your own that runs float loops over model data without calling
     * into a backend first.
     */
    public static void applyToCurrentThread() {
        if (!active()) return;
        boolean[] done = APPLIED.get();
        if (done[0]) return;
        setFlushing(true);
        done[0] = true;
    }

    /**
     * Sets ({@code true}) or clears FTZ and DAZ on the calling thread only, whatever the setting;
     * the backends then leave the thread as it is (and give its OpenMP threads the same state
     * when it first calls into a native backend).
     *
     * @throws UnsupportedOperationException when not {@link #supported()}
     */
    public static void setFlushing(boolean on) {
        requireSupported();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment env = a.allocate(FENV_SIZE, 16);
            check((int) FEGETENV.invokeExact(env), "fegetenv");
            int mx = env.get(ValueLayout.JAVA_INT, MXCSR_OFFSET);
            env.set(ValueLayout.JAVA_INT, MXCSR_OFFSET, on ? mx | FTZ_DAZ : mx & ~FTZ_DAZ);
            check((int) FESETENV.invokeExact(env), "fesetenv");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("setting MXCSR failed", t);
        }
        APPLIED.get()[0] = true;
    }

    /** True when both FTZ and DAZ are set on the calling thread (false where not supported). */
    public static boolean isFlushing() {
        return supported() && (mxcsr() & FTZ_DAZ) == FTZ_DAZ;
    }

    /**
     * The calling thread's MXCSR register.
     *
     * @throws UnsupportedOperationException when not {@link #supported()}
     */
    public static int mxcsr() {
        requireSupported();
        return readMxcsr(FEGETENV);
    }

    /**
     * A copy of the calling thread's floating-point environment ({@code fenv_t}) in
     * {@code arena}, and the address of {@code fesetenv}: the native backend runs
     * {@code fesetenv(env)} on every thread of its OpenMP team so that the team computes like the
     * calling thread. Null when not {@link #active()}.
     */
    public static MemorySegment[] currentEnvironment(Arena arena) {
        if (!active()) return null;
        MemorySegment env = arena.allocate(FENV_SIZE, 16);
        try {
            check((int) FEGETENV.invokeExact(env), "fegetenv");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("fegetenv failed", t);
        }
        return new MemorySegment[] {env, FESETENV_ADDRESS};
    }

    /** One word for logs: {@code on}, {@code off} or {@code unsupported (...)}. */
    public static String describe() {
        if (UNSUPPORTED != null) return "unsupported (" + UNSUPPORTED + ")";
        return enabled() ? "on" : "off";
    }

    /** Parses the setting: true/false, on/off, yes/no, 1/0. */
    static boolean parseSetting(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "true", "on", "yes", "1" -> true;
            case "false", "off", "no", "0" -> false;
            default -> throw new IllegalArgumentException(
                    "panamann.flushDenormals / PANAMANN_FLUSH_DENORMALS must be true or false, got '" + s + "'");
        };
    }

    private static Boolean parseOrNull(String s) {
        try {
            return parseSetting(s);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static int readMxcsr(MethodHandle get) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment env = a.allocate(FENV_SIZE, 16);
            check((int) get.invokeExact(env), "fegetenv");
            return env.get(ValueLayout.JAVA_INT, MXCSR_OFFSET);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("fegetenv failed", t);
        }
    }

    private static void check(int rc, String what) {
        if (rc != 0) throw new IllegalStateException(what + " returned " + rc);
    }

    private static void requireSupported() {
        if (UNSUPPORTED != null) throw new UnsupportedOperationException("flush-to-zero: " + UNSUPPORTED);
    }
}
