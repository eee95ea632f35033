package dev.panamann.ops.java;

import java.util.Locale;

/**
 * The inner multiply of {@link JavaOps#gemm}: {@code c (rows, n) += a (rows, k) * b (k, n)},
 * all three dense row-major heap arrays (the packed operands).
 *
 * <p>Two implementations: {@link ScalarGemmKernel}, plain loops the JIT auto-vectorizes, and
 * {@code VectorGemmKernel}, register-blocked on the Vector API ({@code jdk.incubator.vector}).
 * The Vector API class is only loaded when the JVM was started with
 * {@code --add-modules jdk.incubator.vector}: without the module the library never touches it,
 * so it runs unchanged on any JDK.
 *
 * <p>Setting: system property {@code panamann.java.vector} / environment variable
 * {@code PANAMANN_JAVA_VECTOR}: {@code auto} (the default: the Vector API when its module is
 * present), {@code on} (fail when the module is missing) or {@code off} (scalar loops).
 */
public interface GemmKernel {
    /** The incubator module that holds the Vector API. */
    String VECTOR_MODULE = "jdk.incubator.vector";

    /**
     * Adds {@code a * b} to {@code c}.
     *
     * @param a    (rows, k), row-major, from index 0
     * @param b    (k, n), row-major, from index 0
     * @param c    (rows, n), row-major, from index 0; accumulated into
     * @param rows rows of a and c
     * @param n    columns of b and c
     * @param k    columns of a, rows of b
     */
    void multiplyAdd(float[] a, float[] b, float[] c, int rows, int n, int k);

    /**
     * Adds {@code a * bt^T} to {@code c}, with b given transposed (each column of b a row of
     * {@code bt}, contiguous): dot products along k. Kernels that are not faster this way say so
     * in {@link #dotProductsFaster(int)} and are handed b already transposed instead.
     *
     * @param a    (rows, k), row-major
     * @param bt   (n, k), row-major: b^T
     * @param c    (rows, n), row-major; accumulated into
     */
    default void multiplyAddTransposed(float[] a, float[] bt, float[] c, int rows, int n, int k) {
        float[] b = new float[k * n];
        for (int j = 0; j < n; j++) {
            for (int p = 0; p < k; p++) b[p * n + j] = bt[j * k + p];
        }
        multiplyAdd(a, b, c, rows, n, k);
    }

    /**
     * Whether {@link #multiplyAddTransposed} beats transposing b and calling
     * {@link #multiplyAdd} for this inner dimension (long dot products amortize the reductions).
     */
    default boolean dotProductsFaster(int k) { return false; }

    /** "vector" or "scalar", and for the Vector API its vector width, e.g. "vector (16 floats)". */
    String name();

    /** The kernel the settings ask for (see the class comment). */
    static GemmKernel fromSettings() {
        String v = System.getProperty("panamann.java.vector");
        if (v == null || v.isBlank()) v = System.getenv("PANAMANN_JAVA_VECTOR");
        return select(v == null || v.isBlank() ? "auto" : v, vectorModulePresent());
    }

    /**
     * The name of the kernel the settings ask for, for start-up logs: e.g. {@code vector (16
     * floats)} or {@code scalar}; for a setting {@link #fromSettings} rejects, the reason.
     */
    static String describeSettings() {
        try {
            return fromSettings().name();
        } catch (IllegalArgumentException e) {
            return "not usable: " + e.getMessage();
        }
    }

    /** Whether the boot layer holds {@value #VECTOR_MODULE} (the JVM flag {@code --add-modules jdk.incubator.vector}). */
    static boolean vectorModulePresent() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    }

    /**
     * The kernel for a setting.
     *
     * @param setting       {@code auto}, {@code on} or {@code off}
     * @param modulePresent whether {@value #VECTOR_MODULE} is in the boot layer
     * @throws IllegalArgumentException for another setting, or {@code on} without the module
     */
    static GemmKernel select(String setting, boolean modulePresent) {
        switch (setting.trim().toLowerCase(Locale.ROOT)) {
            case "off":
                return ScalarGemmKernel.INSTANCE;
            case "auto":
                return modulePresent ? vector() : ScalarGemmKernel.INSTANCE;
            case "on":
                if (!modulePresent) {
                    throw new IllegalArgumentException("panamann.java.vector=on but the JVM lacks the module " + VECTOR_MODULE
                            + ": start java with --add-modules " + VECTOR_MODULE);
                }
                return vector();
            default:
                throw new IllegalArgumentException("panamann.java.vector must be auto, on or off, got '" + setting + "'");
        }
    }

    /** The Vector API kernel, loaded by name so nothing links to the incubator module unless it is there. */
    private static GemmKernel vector() {
        try {
            return (GemmKernel) Class.forName("dev.panamann.ops.java.VectorGemmKernel").getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("cannot load the Vector API gemm kernel: " + e, e);
        }
    }
}
