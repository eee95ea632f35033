package dev.panamann.ops.java;

import java.util.Locale;

/**
 * The inner multiply of {@link JavaOps#gemm} and of the Java convolution:
 * {@code c (rows, n) (+)= a (rows, k) * b (k, n)} on heap arrays, a dense row-major and b
 * packed in panels of a few columns ({@link Panels}), so that the kernel reads b contiguously
 * from a block small enough for the L1 cache.
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
     * Columns of b per packed panel for {@link #multiplyAddPacked}: 2 vectors for the Vector API
     * kernel (32 floats with AVX-512, 16 with AVX2).
     */
    int panelWidth();

    /**
     * {@code c (rows, panels * nr) (+)= a (rows, k) * b (k, panels * nr)}, with b packed in
     * panels of {@code nr = panelWidth()} columns ({@link Panels}): element (p, j) of b at
     * {@code (j / nr) * k * nr + p * nr + j % nr}. Every column of the panels is written, so c's
     * rows must hold {@code panels * nr} floats (pad the panels of a partial last one with zeros
     * and ignore those columns of c).
     *
     * @param a          (rows, k), row-major, dense, from index 0
     * @param bp         b in panels, from index 0
     * @param panels     panels of b
     * @param c          (rows, ldc), row-major, from index 0
     * @param ldc        row stride of c, at least {@code panels * nr}
     * @param rows       rows of a and c
     * @param k          columns of a, rows of b
     * @param accumulate add to c when true, overwrite it when false
     */
    void multiplyAddPacked(float[] a, float[] bp, int panels, float[] c, int ldc, int rows, int k, boolean accumulate);

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
